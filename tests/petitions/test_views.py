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
from petition.signing import links
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
    # Works without JavaScript (tests/functional/…_without_javascript.py): the two
    # scripts are optional (the live count, copying the link), from this host, never inline.
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 2
    for script, name in zip(scripts, ("live-count", "share"), strict=True):
        assert re.fullmatch(rf'<script src="/static/{name}\.js\?v=\w+" defer>', script)


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
        in_session(app, links.confirm, petition, token=confirm_token_of(app, message))
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


def _set_counts(app: Flask, by_country: dict[str, int], **values: object) -> None:
    """The folded figures as the worker leaves them (no signature rows needed)."""
    from petition.petitions.models import PetitionCountryCount

    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition).where(Petition.slug == SLUG)).one()
        petition.signature_count = sum(by_country.values())
        for name, value in values.items():
            setattr(petition, name, value)
        session.add_all(
            PetitionCountryCount(petition_id=petition.id, country=code, signature_count=count)
            for code, count in by_country.items()
        )


@pytest.mark.usefixtures("petition")
def test_the_last_day_line_shows_only_when_the_figure_is_known(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petition.petitions import activity

    # The fold has recorded no hour for this petition yet: the line is left out.
    page = client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "count-recent" not in page
    assert "in the last 24 hours" not in page
    # Once the fold knows it, the page, the live count and the widget say it.
    monkeypatch.setattr(activity, "signed_in_last_day", lambda session, petition: 1234)
    for path in (f"/p/{SLUG}", f"/p/{SLUG}/count", f"/embed/{SLUG}?mode=count"):
        html = client.get(path).get_data(as_text=True)
        assert '<p class="count-recent">1,234 signed in the last 24 hours</p>' in html, path
    arabic = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert "وقّع 1,234 شخصًا في الساعات الأربع والعشرين الماضية" in arabic


def test_signed_in_last_day_is_unknown_until_the_fold_records_an_hour(
    app: Flask, petition: Petition
) -> None:
    from petition.petitions import activity

    with app.app_context(), session_scope() as session:
        assert activity.signed_in_last_day(session, petition) is None


def test_top_countries_in_the_reader_language_with_the_full_list(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    counts = {"SY": 50, "TR": 20, "DE": 12, "JO": 9, "LB": 7, "FR": 3, "SE": 1}
    _set_counts(app, counts)
    page = client.get(f"/p/{SLUG}").get_data(as_text=True)
    table = page.split('<table class="country-table">')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">([^<]+)</th>', table) == [
        "Syria", "Türkiye", "Germany", "Jordan", "Lebanon",
    ]  # fmt: skip
    assert '<span class="country-figure">50</span>' in table
    assert f'href="/p/{SLUG}/countries">See all 7 countries</a>' in page
    arabic = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert '<th scope="row">سوريا</th>' in arabic
    full = client.get(f"/p/{SLUG}/countries?lang=en").get_data(as_text=True)
    assert len(re.findall(r'<th scope="row">', full)) == len(counts)
    assert '<th scope="row">Sweden</th>' in full
    assert client.get("/p/nothing/countries").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.usefixtures("petition")
def test_no_country_table_before_anyone_is_counted(client: FlaskClient) -> None:
    page = client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "country-table" not in page


def test_share_links_and_card_use_the_configured_address_not_the_host(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    """A request's Host is whatever the sender wrote; shared links must not carry it."""
    page = client.get(f"/p/{SLUG}", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in page
    canonical = f"http://localhost/p/{SLUG}"  # settings.base_url in the tests
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert f'<meta property="og:url" content="{canonical}">' in page
    encoded = "http%3A%2F%2Flocalhost%2Fp%2Fdefend-the-people-of-daraa"
    hrefs = re.findall(r'<a class="share-link share-(\w+)" href="([^"]+)"', page)
    assert [network for network, _ in hrefs] == ["whatsapp", "telegram", "x", "facebook", "email"]
    assert all(encoded in href.replace("&amp;", "&") for _, href in hrefs)
    assert f'id="share-url" type="text" value="{canonical}" readonly' in page


def test_the_list_shows_each_petition_with_its_count_progress_and_a_sign_button(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    _set_counts(app, {"SY": 1500}, goal=5000)
    html = client.get("/").get_data(as_text=True)
    assert f'<a href="/p/{SLUG}">Defend the People of Daraa</a>' in html
    assert "To: Decision-makers worldwide" in html
    assert "<strong>1,500</strong> verified signatures of a goal of 5,000" in html
    assert '<progress max="5000" value="1500"' in html
    assert f'href="/p/{SLUG}#sign"' in html
    arabic = client.get("/?lang=ar").get_data(as_text=True)
    assert "دافعوا عن أهل درعا" not in arabic  # no translation loaded in this test
    assert 'lang="en"><a href="/p/' in arabic  # so the English title says it is English
