"""Numeric ids in paths: every one is bounded, in every route, found from the URL map.

An id past 64 bits once reached the database (SQLite's driver raises OverflowError
on binding it: a 500). A new route with ``<int:…>`` gets the bounded converter
without anyone listing it here.
"""

from __future__ import annotations

import tempfile
from http import HTTPStatus

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from petition import create_app
from petition.config import Settings
from petition.petitions.models import Petition
from petition.requests import ID_MAX, BoundedId
from tests.admin.conftest import login, token

SLUG = "defend-the-people-of-daraa"
# Past 64 bits, past 63 (the signed column), a Unicode digit, and absurdly long.
BAD_IDS = [str(2**64), str(ID_MAX + 1), "\u0663", "9" * 5000, "0"]


def _url_map_app() -> Flask:
    return create_app(Settings(testing=True, instance_path=tempfile.mkdtemp(prefix="ids-")))


def _numeric_rules() -> list[tuple[Rule, str]]:
    app = _url_map_app()
    found = []
    for rule in app.url_map.iter_rules():
        for argument, converter in rule._converters.items():
            if isinstance(converter, NumberConverter):
                found.append((rule, argument))
    return sorted(found, key=lambda case: (case[0].rule, case[1]))


NUMERIC = _numeric_rules()


def test_every_numeric_path_argument_is_a_bounded_id() -> None:
    assert NUMERIC, "no route takes a numeric id"
    for rule, argument in NUMERIC:
        converter = rule._converters[argument]
        assert isinstance(converter, BoundedId), f"{rule.rule}: <{argument}> is unbounded"
        assert converter.max is not None, rule.rule
        assert converter.max <= ID_MAX, rule.rule
    # The routes issue 20 found answering 500 are among them.
    rules = {rule.rule for rule, _ in NUMERIC}
    for expected in (
        "/admin/users/<int:user_id>/active",
        "/admin/users/<int:user_id>/grant",
        "/admin/users/<int:user_id>/revoke",
        "/admin/p/<slug>/audit/<int:event_id>/reinstate",
        "/admin/p/<slug>/batches/<int:sequence>/delivered",
        "/admin/p/<slug>/batches/<int:sequence>/download",
        "/admin/p/<slug>/signatures/<int:signature_id>/name",
        "/admin/p/<slug>/signatures/<int:signature_id>/withdraw",
    ):
        assert expected in rules


def _path(rule: Rule, argument: str, value: str) -> str:
    path = rule.rule.replace("<slug>", SLUG)
    for name, _converter in rule._converters.items():
        marker = f"<int:{name}>"
        path = path.replace(marker, value if name == argument else "1")
    return path


@pytest.fixture
def admin_client(client: FlaskClient, petition: Petition) -> FlaskClient:
    """Signed in with the admin account of tests/hostile/conftest.py."""
    assert login(client, "admin@example.org").status_code == HTTPStatus.SEE_OTHER
    return client


@pytest.mark.parametrize(
    ("rule", "argument"), NUMERIC, ids=[f"{rule.rule}:{arg}" for rule, arg in NUMERIC]
)
def test_an_id_no_row_can_have_is_not_found(
    admin_client: FlaskClient, rule: Rule, argument: str, nothing_written: object
) -> None:
    """Signed in as an admin, who may open every page: 404, not 500, for each bad id."""
    csrf = token(admin_client)
    check = nothing_written()  # type: ignore[operator]
    for value in BAD_IDS:
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = admin_client.open(
                _path(rule, argument, value),
                method=method,
                data={"csrf_token": csrf} if method == "POST" else None,
            )
            assert response.status_code == HTTPStatus.NOT_FOUND, (method, value)
    check()
