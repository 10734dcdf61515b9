"""The list of petitions, the petition page and the count API."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition import create_app
from petition.config import Settings
from petition.db import db, session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import service as signing
from tests.helpers.forms import csrf_from, sign_form
from tests.signing.test_service import confirm_token_of, do_sign, fold, in_session, outbox, signer

SLUG = "defend-the-people-of-daraa"


@pytest.mark.usefixtures("petition")
def test_index_lists_open_petitions(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert f'href="/p/{SLUG}"' in html
    assert "Defend the People of Daraa" in html


@pytest.mark.usefixtures("petition")
def test_page_shows_title_addressee_text_count_and_form(client: FlaskClient) -> None:
    response = client.get(f"/p/{SLUG}")
    assert response.status_code == HTTPStatus.OK
    html = response.get_data(as_text=True)
    assert "<h1>Defend the People of Daraa</h1>" in html
    assert "To: Decision-makers worldwide" in html
    assert "<li>the cessation of hostilities in Daraa governorate</li>" in html
    assert "0</strong>" in html
    for field in ("name", "email", "country", "postcode", "public", "updates", "csrf_token"):
        assert f'name="{field}"' in html
    assert '<option value="SY">Syria</option>' in html
    assert (
        client.get(f"/p/{SLUG}?lang=ar")
        .get_data(as_text=True)
        .count('<option value="SY">سوريا</option>')
        == 1
    )
    # Works without JavaScript (tests/functional/…_without_javascript.py): the one
    # script is the optional live count, from this host, never inline.
    [script] = re.findall(r"<script[^>]*>", html)
    assert re.fullmatch(r'<script src="/static/live-count\.js\?v=\w+" defer>', script)


def test_progress_bar_towards_the_goal(app: Flask, client: FlaskClient) -> None:
    with app.app_context(), session_scope() as session:
        petitions.publish(
            session, source=petitions.PetitionSource(slug="g", title="G", body="b", goal=1000)
        )
        session.execute(sa.update(Petition).values(signature_count=250))
    html = client.get("/p/g").get_data(as_text=True)
    assert '<progress max="1000" value="250"' in html
    assert "of a goal of 1,000" in html


def test_only_verified_public_names_are_shown(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    do_sign(app, petition, signer("a@example.org", name="Shown Person", is_public=True))
    do_sign(app, petition, signer("b@example.org", name="Private Person", is_public=False))
    do_sign(app, petition, signer("c@example.org", name="Unconfirmed Person", is_public=True))
    for message in outbox(app)[:2]:
        in_session(app, signing.confirm, petition, token=confirm_token_of(app, message))
    fold(app)
    html = client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "Shown Person" in html
    assert "Private Person" not in html
    assert "Unconfirmed Person" not in html
    assert "a@example.org" not in html
    assert "b@example.org" not in html


def test_count_api_reads_the_petition_row(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(signature_count=7, goal=100))
    response = client.get(f"/api/v1/petitions/{SLUG}")
    assert response.status_code == HTTPStatus.OK
    body = response.json
    assert body is not None
    assert set(body) >= {"slug", "title", "status", "signature_count", "goal", "updated_at"}
    assert (body["slug"], body["status"], body["signature_count"], body["goal"]) == (
        SLUG,
        "open",
        7,
        100,
    )
    assert "max-age" in response.headers["Cache-Control"]


def test_count_api_for_unknown_petition_is_a_problem_document(client: FlaskClient) -> None:
    response = client.get("/api/v1/petitions/nope")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json is not None
    assert response.json["status"] == 404


def test_page_cache_serves_a_few_seconds_of_one_render_with_each_readers_token(
    app: Flask, settings: Settings, petition: Petition
) -> None:
    import dataclasses
    import time

    cached_app = create_app(dataclasses.replace(settings, page_cache_seconds=1))
    first, second = cached_app.test_client(), cached_app.test_client()
    page_one = first.get(f"/p/{SLUG}").get_data(as_text=True)
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(signature_count=5))
    page_two = second.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "0</strong>" in page_two  # the same render, still within its second
    token_one, token_two = csrf_from(page_one), csrf_from(page_two)
    assert token_one != token_two
    assert "\x00" not in page_two
    # Each reader's token is their own and works for their sign form.
    response = second.post(f"/p/{SLUG}/sign", data=sign_form(second, SLUG))
    assert response.status_code == HTTPStatus.SEE_OTHER
    arabic = second.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in arabic
    time.sleep(1.1)
    assert "5</strong>" in first.get(f"/p/{SLUG}").get_data(as_text=True)
    with cached_app.app_context():
        db.engine.dispose()
