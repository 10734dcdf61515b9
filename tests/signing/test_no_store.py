"""No cache keeps a page that carries a one-time token or what a signer typed (issue 20)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.forms import csrf_from, sign_form
from tests.signing.test_views import SLUG, links


@pytest.mark.usefixtures("petition")
def test_confirm_and_withdraw_pages_are_never_stored(app: Flask, client: FlaskClient) -> None:
    client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG))
    paths = links(app)
    answers = []
    for kind in ("confirm", "withdraw"):
        page = client.get(paths[kind])
        assert page.status_code == HTTPStatus.OK
        csrf = csrf_from(page.get_data(as_text=True))
        done = client.post(paths[kind], data={"csrf_token": csrf, "confirm_withdraw": "yes"})
        assert done.status_code == HTTPStatus.OK
        # A used or a wrong token's page carries the token in its address too.
        used = client.post(paths[kind], data={"csrf_token": csrf, "confirm_withdraw": "yes"})
        wrong = client.get(paths[kind][:-4] + "AAAA")
        assert HTTPStatus.NOT_FOUND in (used.status_code, wrong.status_code)
        answers += [page, done, used, wrong]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path


@pytest.mark.usefixtures("petition")
def test_a_refused_sign_form_shown_again_is_never_stored(client: FlaskClient) -> None:
    """It holds the name and address the signer typed."""
    refused = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, country="XX"))
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "layla@example.org" in refused.get_data(as_text=True)
    assert refused.headers["Cache-Control"] == "no-store"


def _token_rules() -> list[tuple[str, str]]:
    import tempfile

    from petition import create_app
    from petition.config import Settings

    app = create_app(Settings(testing=True, instance_path=tempfile.mkdtemp(prefix="tokens-")))
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if "token" in rule.arguments
        for method in sorted((rule.methods or set()) & {"GET", "POST"})
    )


TOKEN_RULES = _token_rules()


@pytest.mark.usefixtures("petition")
@pytest.mark.parametrize(("rule", "method"), TOKEN_RULES, ids=[f"{m} {r}" for r, m in TOKEN_RULES])
def test_every_address_with_a_token_is_never_stored(
    client: FlaskClient, rule: str, method: str
) -> None:
    """From the URL map: a new route with a ``<token>`` is covered without being listed."""
    path = rule.replace("<slug>", SLUG).replace("<token>", "A" * 43)
    csrf = csrf_from(client.get(f"/p/{SLUG}").get_data(as_text=True))
    response = client.open(path, method=method, data={"csrf_token": csrf})
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.headers["Cache-Control"] == "no-store"


def test_the_token_routes_are_found() -> None:
    rules = {rule for rule, _ in TOKEN_RULES}
    assert {f"/p/<slug>/{kind}/<token>" for kind in ("confirm", "withdraw")} <= rules
