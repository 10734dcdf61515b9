"""The per-process micro-cache: pages, widget frames, counts, API answers and petition
rows for a few seconds, never deciding alone whether a signature is taken."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from petition.db import db, session_scope
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition, PetitionStatus, PetitionVersion
from petition.signing.models import Signature
from petition.widget import service
from tests.helpers.forms import sign_form
from tests.widget.test_views import TOKEN

SLUG = "defend-the-people-of-daraa"


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _close(app: Flask) -> None:
    # Behind the cache's back, as an organizer's other process would.
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition.__table__).values(status=PetitionStatus.CLOSED))


def test_a_kept_petition_row_signs_and_confirms_like_a_fresh_one(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    # In Arabic the email's title comes through the row's text version: a lazy load
    # from the kept row, in the request's own session.
    client.get(f"/p/{SLUG}?lang=ar")
    first = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, email="a@example.org"))
    second = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, email="b@example.org"))
    assert first.status_code == second.status_code == HTTPStatus.SEE_OTHER
    assert _count(app, Signature) == 2
    with app.app_context():
        titles = db.session.scalars(sa.select(OutboxMessage.payload)).all()
    assert [p["petition_title"] for p in titles] == ["Defend the People of Daraa"] * 2


def test_a_petition_closed_while_its_row_is_kept_takes_no_signature(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    form = sign_form(client, SLUG)  # the page view keeps the row (open)
    _close(app)
    response = client.post(f"/p/{SLUG}/sign", data=form)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "closed" in response.get_data(as_text=True)
    assert _count(app, Signature) == 0
    assert _count(app, OutboxMessage) == 0


def test_api_answers_are_kept_a_few_seconds(make_app: Callable[..., Flask]) -> None:
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    before = client.get(f"/api/v1/petitions/{SLUG}")
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition.__table__).values(signature_count=7))
    again = client.get(f"/api/v1/petitions/{SLUG}")
    assert again.json == before.json
    assert again.json is not None
    assert again.json["signature_count"] == 0
    assert again.headers["ETag"] == before.headers["ETag"]
    # A conditional request is still answered from the kept answer.
    not_modified = client.get(
        f"/api/v1/petitions/{SLUG}", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert not_modified.status_code == HTTPStatus.NOT_MODIFIED
    fresh = make_app(page_cache_seconds=0).test_client().get(f"/api/v1/petitions/{SLUG}")
    assert fresh.json is not None
    assert fresh.json["signature_count"] == 7


def test_a_query_the_page_does_not_depend_on_shares_its_render(
    make_app: Callable[..., Flask],
) -> None:
    # Keyed on the raw query, each ?utm_source=… (or a crawler's random query) kept a
    # 40 KB copy of the page per worker.
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    client.get(f"/p/{SLUG}")
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(PetitionVersion.__table__).values(body_html="<p>Edited</p>"))
    tagged = client.get(f"/p/{SLUG}?utm_source=mail").get_data(as_text=True)
    assert "Edited" not in tagged
    assert "Edited" in client.get(f"/p/{SLUG}?original=1").get_data(as_text=True)


def _frame(client: FlaskClient, referer: str, query: str = "") -> TestResponse:
    return client.get(f"/embed/{SLUG}{query}", headers={"Referer": referer})


def test_a_kept_widget_frame_gives_each_load_its_own_token_for_its_own_site(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    first = _frame(client, "https://news.example/story")
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition.__table__).values(signature_count=9))
    loads = [_frame(client, f"https://site{n}.example/") for n in range(3)]
    assert "\x00" not in "".join(r.get_data(as_text=True) for r in [first, *loads])
    # Kept: the count has not moved; but every load has a token of its own, naming
    # the site that framed it, and the frame's own policy.
    assert all(">0<" in r.get_data(as_text=True) for r in loads)
    tokens = [TOKEN.search(r.get_data(as_text=True)).group(1) for r in [first, *loads]]  # type: ignore[union-attr]
    assert len(set(tokens)) == 4
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        origins = [
            service.check_form_token(
                secret_key=app.secret_key,  # type: ignore[arg-type]
                petition=petition,
                token=token,
                max_age=dt.timedelta(minutes=5),
            ).origin
            for token in tokens
        ]
    assert origins == ["https://news.example", *(f"https://site{n}.example" for n in range(3))]
    assert {r.headers["Content-Security-Policy"] for r in loads} == {
        first.headers["Content-Security-Policy"]
    }
    assert "frame-ancestors *" in first.headers["Content-Security-Policy"]
    assert all(r.headers["Cache-Control"] == "no-store" for r in loads)
    # A kept frame's form signs like a fresh one.
    signed = client.post(
        f"/embed/{SLUG}/sign",
        data={
            "token": tokens[-1],
            "name": "Layla Haddad",
            "email": "l@example.org",
            "country": "SY",
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert signed.status_code == HTTPStatus.SEE_OTHER
    assert _count(app, Signature) == 1


def test_kept_counts_answer_304_and_never_cross_languages_or_petitions(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    client = app.test_client()
    for path in (f"/p/{SLUG}/count", f"/embed/{SLUG}?mode=count", "/embed.js"):
        first = client.get(path)
        assert first.status_code == HTTPStatus.OK
        etag = first.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == HTTPStatus.NOT_MODIFIED, path
        assert again.get_data() == b""
        assert client.get(path).get_data() == first.get_data()
    english = client.get(f"/p/{SLUG}/count").get_data(as_text=True)
    arabic = client.get(f"/p/{SLUG}/count?lang=ar").get_data(as_text=True)
    assert english != arabic
    assert "توقيع" in arabic
    frame_ar = client.get(f"/embed/{SLUG}?mode=count&lang=ar").get_data(as_text=True)
    assert 'dir="rtl"' in frame_ar
    assert client.get("/p/no-such-petition/count").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/embed/no-such-petition?mode=count").status_code == HTTPStatus.NOT_FOUND


def test_kept_reads_are_answered_whole_before_flask_and_keep_their_limits(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60, ratelimit_api_per_ip="3/minute")
    client = app.test_client()
    api = f"/api/v1/petitions/{SLUG}"
    first = client.get(api, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition.__table__).values(signature_count=5))
    again = [client.get(api, environ_base={"REMOTE_ADDR": "192.0.2.1"}) for _ in range(3)]
    # The same bytes and headers, the count not moved; then the limit answers 429.
    assert again[0].get_data() == first.get_data()
    assert dict(again[0].headers) == dict(first.headers)
    assert [r.status_code for r in again] == [200, 200, 429]
    assert again[2].mimetype == "application/problem+json"
    assert 1 <= int(again[2].headers["Retry-After"]) <= 60
    assert client.get(api, environ_base={"REMOTE_ADDR": "192.0.2.2"}).status_code == 200
    # HEAD: the headers without the body.
    head = client.head(api, environ_base={"REMOTE_ADDR": "192.0.2.3"})
    assert head.status_code == 200
    assert head.get_data() == b""
    # Languages and the lang cookie are part of the key.
    count = f"/p/{SLUG}/count"
    english = client.get(count).get_data(as_text=True)
    arabic = client.get(count, headers={"Accept-Language": "ar"}).get_data(as_text=True)
    client.set_cookie("lang", "ar")
    by_cookie = client.get(count).get_data(as_text=True)
    assert english != arabic == by_cookie
    # The widget's sign form is never kept: each load has its own token.
    frames = [_frame(client, f"https://site{n}.example/").get_data(as_text=True) for n in range(2)]
    assert TOKEN.search(frames[0]).group(1) != TOKEN.search(frames[1]).group(1)  # type: ignore[union-attr]
    # Nor is a read that set a cookie, or any other method.
    assert client.post(api).status_code != HTTPStatus.OK
