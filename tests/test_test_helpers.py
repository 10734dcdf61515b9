"""The suite's own speed-ups: they change nothing an app does (tests/helpers/routing.py),
and the test processes take the longest tests first (tests/helpers/schedule.py)."""

from __future__ import annotations

import tempfile
from typing import Any

from werkzeug.routing import Map, PathConverter, Rule
from werkzeug.routing.converters import NumberConverter

from petition import create_app
from petition.config import Settings
from tests.helpers import routing, schedule


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


class _Item:
    """What the schedule reads of a collected test: its id and its markers."""

    def __init__(self, nodeid: str, marker: str | None = None) -> None:
        self.nodeid = nodeid
        self.marker = marker

    def get_closest_marker(self, name: str) -> Any:
        return name if name == self.marker else None


def test_the_long_tests_come_first_then_whole_files_the_longest_first() -> None:
    items = [
        _Item("tests/a.py::short"),
        _Item("tests/a.py::image_build"),
        _Item("tests/b.py::one"),
        _Item("tests/b.py::two"),
        _Item("tests/c.py::new", marker="browser"),
        _Item("tests/d.py::smoke"),
        _Item("tests/e.py::unmeasured"),
    ]
    files = {"tests/a.py": 31.0, "tests/b.py": 12.0, "tests/d.py": 20.0}
    long_tests = {"tests/a.py::image_build": 29.0, "tests/d.py::smoke": 20.0}
    order = [i.nodeid for i in schedule.longest_first(items, files, long_tests)]  # type: ignore[arg-type]
    assert order == [
        "tests/a.py::image_build",
        "tests/d.py::smoke",
        # An unmeasured file with a browser test counts as long; a.py is 2 s without its
        # long test.
        "tests/c.py::new",
        "tests/b.py::one",
        "tests/b.py::two",
        "tests/a.py::short",
        "tests/e.py::unmeasured",
    ]
