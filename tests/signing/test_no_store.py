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
        done = client.post(paths[kind], data={"csrf_token": csrf})
        assert done.status_code == HTTPStatus.OK
        # A used or a wrong token's page carries the token in its address too.
        used = client.post(paths[kind], data={"csrf_token": csrf})
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
