"""The "mail me once when a batch holding my signature is delivered" checkbox: off by
default, labelled, on the page (through its cache) and in the widget; the API's field is
tested in tests/api/test_views.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.db import db
from petition.signing.models import Signature
from tests.helpers.forms import sign_form
from tests.widget.test_views import FRAME_POST, fields, token_in, widget

SLUG = "defend-the-people-of-daraa"
LABEL = "Mail me once when a batch holding my signature is delivered"
CHECKBOX = re.compile(r"<input[^>]*\bid=\"delivery_mail\"[^>]*>")


def _consents(app: Flask) -> list[bool]:
    with app.app_context():
        return list(
            db.session.scalars(sa.select(Signature.has_delivery_consent).order_by(Signature.id))
        )


def _assert_unticked_and_labelled(html: str, label: str = LABEL) -> None:
    [checkbox] = CHECKBOX.findall(html)
    assert 'type="checkbox"' in checkbox
    assert 'name="delivery_mail"' in checkbox
    # Off by default, reachable by keyboard (no tabindex), named by its own label.
    assert "checked" not in checkbox
    assert "tabindex" not in checkbox
    assert f'<label for="delivery_mail">{label}</label>' in html


def test_the_page_form_offers_it_unticked_through_the_page_cache(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    first, kept = client.get(f"/p/{SLUG}"), client.get(f"/p/{SLUG}")
    for page in (first, kept):
        _assert_unticked_and_labelled(page.get_data(as_text=True))
    ar = app.test_client().get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    _assert_unticked_and_labelled(ar, "راسلني مرة واحدة حين تُسلَّم دفعة فيها توقيعي")

    # sign_form reads the (kept) page for its CSRF token, as a browser would.
    ticked = sign_form(client, SLUG, email="a@example.org", delivery_mail="y")
    assert client.post(f"/p/{SLUG}/sign", data=ticked).status_code == HTTPStatus.SEE_OTHER
    unticked = sign_form(client, SLUG, email="b@example.org")
    assert client.post(f"/p/{SLUG}/sign", data=unticked).status_code == HTTPStatus.SEE_OTHER
    assert _consents(app) == [True, False]


@pytest.mark.usefixtures("petition")
def test_a_refused_form_keeps_the_choice(client: FlaskClient) -> None:
    form = sign_form(client, SLUG, name="", delivery_mail="y")
    page = client.post(f"/p/{SLUG}/sign", data=form)
    assert page.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    [checkbox] = CHECKBOX.findall(page.get_data(as_text=True))
    assert "checked" in checkbox


@pytest.mark.usefixtures("petition")
def test_the_widget_frame_offers_it_unticked(app: Flask, client: FlaskClient) -> None:
    frame = widget(client)
    _assert_unticked_and_labelled(frame.get_data(as_text=True))
    signed = client.post(
        f"/embed/{SLUG}/sign",
        data=fields(token_in(frame), delivery_mail="y"),
        headers=FRAME_POST,
    )
    assert signed.status_code == HTTPStatus.SEE_OTHER
    client.post(
        f"/embed/{SLUG}/sign",
        data=fields(token_in(widget(client)), email="omar@example.org"),
        headers=FRAME_POST,
    )
    assert _consents(app) == [True, False]
