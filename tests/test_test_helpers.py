"""The suite's own speed-ups change nothing an app does (tests/helpers/routing.py)."""

from __future__ import annotations

import tempfile

from werkzeug.routing import Map, PathConverter, Rule
from werkzeug.routing.converters import NumberConverter

from petition import create_app
from petition.config import Settings
from tests.helpers import routing


def test_every_rule_of_a_second_app_builds_what_werkzeug_compiles_for_it() -> None:
    apps = [create_app(Settings(testing=True, instance_path=tempfile.mkdtemp())) for _ in range(2)]
    rules = list(apps[1].url_map.iter_rules())
    assert len(rules) > 50
    for rule in rules:
        values: dict[str, object] = {}
        for name, conv in rule._converters.items():
            if isinstance(conv, NumberConverter):
                values[name] = 7
            else:
                values[name] = "a/b c" if isinstance(conv, PathConverter) else "a b"
        own = routing._original(rule, True).__get__(rule, None)
        assert rule._build_unknown(**values, q="1 2") == own(**values, q="1 2"), rule.rule
        own = routing._original(rule, False).__get__(rule, None)
        assert rule._build(**values) == own(**values), rule.rule


def test_a_rule_with_other_defaults_gets_a_builder_of_its_own() -> None:
    plain = Map([Rule("/p/<slug>", endpoint="page")]).bind("localhost")
    with_default = Map([Rule("/p/<slug>", endpoint="page", defaults={"slug": "daraa"})]).bind(
        "localhost"
    )
    assert plain.build("page", {"slug": "idlib"}) == "/p/idlib"
    assert with_default.build("page", {}) == "/p/daraa"
    assert plain.build("page", {"slug": "idlib"}) == "/p/idlib"
