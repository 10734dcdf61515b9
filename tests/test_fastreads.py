"""Answers replayed before Flask with each reader's own tokens (petition.fastreads).

The petition page for a reader with no session, and the widget's sign frame, are the
same for everyone but for a token or two: fastreads keeps them with slots and fills in
fresh tokens for each reader. What must hold: every reader's token and cookie are their
own and sign (Flask-WTF still checks every POST), nobody's token works with another's
cookie, and no kept answer crosses petitions, languages or readers with a session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa
from flask import Flask, request, request_started
from flask.testing import FlaskClient

from petition.abuse import traps
from petition.db import db, session_scope, utcnow
from petition.petitions import service as petitions
from petition.signing.models import Signature
from petition.widget import service
from tests.helpers import DARAA
from tests.helpers.forms import csrf_from

SLUG = "defend-the-people-of-daraa"
PAGE = f"/p/{SLUG}"
FORM_TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@contextmanager
def reaching_flask(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests that reached Flask (a replayed answer never does)."""
    reached: list[str] = []

    def record(sender: Flask, **extra: Any) -> None:
        reached.append(request.full_path)

    with request_started.connected_to(record, app):
        yield reached


def _signatures(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) or 0)


def _sign(client: FlaskClient, token: str, email: str, slug: str = SLUG) -> int:
    secret = client.application.config["SECRET_KEY"]
    data = {
        "csrf_token": token,
        "shown": traps.form_shown_token(secret, at=utcnow() - dt.timedelta(minutes=1)),
        "name": "Layla Haddad",
        "email": email,
        "country": "SY",
    }
    return client.post(f"/p/{slug}/sign", data=data).status_code


def test_new_readers_of_a_kept_page_get_their_own_token_and_session_and_sign(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    readers = [app.test_client() for _ in range(4)]
    with reaching_flask(app) as reached:
        pages = [reader.get(PAGE) for reader in readers]
    assert reached == [f"{PAGE}?"], "only the first new reader's page is made by Flask"
    assert [page.status_code for page in pages] == [HTTPStatus.OK] * 4
    tokens = [csrf_from(page.get_data(as_text=True)) for page in pages]
    cookies = [reader.get_cookie("session") for reader in readers]
    assert all(cookie is not None for cookie in cookies)
    assert len(set(tokens)) == len({cookie.value for cookie in cookies if cookie}) == 4
    # The same page and headers as Flask's but for the reader's own token and cookie.
    body = pages[0].get_data(as_text=True).replace(tokens[0], "TOKEN")
    for page, token in zip(pages[1:], tokens[1:], strict=True):
        assert "\x00" not in page.get_data(as_text=True)
        assert page.get_data(as_text=True).replace(token, "TOKEN") == body
        flask_headers = {k: v for k, v in pages[0].headers if k != "Set-Cookie"}
        assert {k: v for k, v in page.headers if k != "Set-Cookie"} == flask_headers
        cookie_flags = page.headers["Set-Cookie"].split(";", 1)[1]
        assert cookie_flags == pages[0].headers["Set-Cookie"].split(";", 1)[1]
        assert "HttpOnly" in cookie_flags
        assert "SameSite=Lax" in cookie_flags
    # Each reader's token signs with their own cookie, never with another's or none.
    assert _sign(readers[1], tokens[2], "a@example.org") == HTTPStatus.BAD_REQUEST
    assert _sign(app.test_client(), tokens[3], "b@example.org") == HTTPStatus.BAD_REQUEST
    assert _signatures(app) == 0
    for n in (1, 2, 3):
        assert _sign(readers[n], tokens[n], f"s{n}@example.org") == HTTPStatus.SEE_OTHER
    assert _signatures(app) == 3
    # HEAD: the headers, a cookie of its own, no body.
    head = app.test_client().head(PAGE)
    assert head.status_code == HTTPStatus.OK
    assert head.get_data() == b""
    own = head.headers["Set-Cookie"].split(";")[0].removeprefix("session=")
    assert own not in {c.value for c in cookies if c}
    assert len(own) > 40


def test_a_kept_page_never_crosses_petitions_languages_or_readers_with_a_session(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    with app.app_context(), session_scope() as session:
        source = dataclasses.replace(petitions.parse_petition_file(DARAA), slug="other")
        petitions.publish(session, source=source)
    arabic = {"Accept-Language": "ar"}
    with reaching_flask(app) as reached:
        first = [app.test_client().get(path) for path in (PAGE, "/p/other")]
        first.append(app.test_client().get(PAGE, headers=arabic))
        again = [app.test_client().get(path) for path in (PAGE, "/p/other")]
        again.append(app.test_client().get(PAGE, headers=arabic))
    assert len(reached) == 3, reached
    for page in (first[0], again[0]):
        assert 'dir="ltr"' in page.get_data(as_text=True)
        assert f'action="/p/{SLUG}/sign' in page.get_data(as_text=True)
    assert 'action="/p/other/sign' in again[1].get_data(as_text=True)
    assert 'dir="rtl"' in again[2].get_data(as_text=True)
    assert 'lang="ar"' in again[2].get_data(as_text=True)
    # A query the page does not depend on shares the kept answer; ?original=1 does not.
    reader = app.test_client()
    with reaching_flask(app) as reached:
        tagged = reader.get(f"{PAGE}?utm_source=mail")
        reader.delete_cookie("session")
        app.test_client().get(f"{PAGE}?original=1")
        app.test_client().get(f"{PAGE}?original=1")
    assert reached == [f"{PAGE}?original=1"]
    assert _sign(reader, csrf_from(tagged.get_data(as_text=True)), "t@example.org") == 400
    # A returning reader (a session holding only their token) is answered before Flask,
    # with their own token and no new cookie; a language switch (it sets a cookie), a
    # session holding more, or an altered one, go to Flask.
    returning = app.test_client()
    first_visit = returning.get(PAGE)
    signer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    organizer = app.test_client()
    organizer.set_cookie("session", signer.dumps({"csrf_token": "a" * 40, "user": 1}))
    altered = app.test_client()
    altered.set_cookie("session", returning.get_cookie("session").value[:-2] + "xx")  # type: ignore[union-attr]
    with reaching_flask(app) as reached:
        page = returning.get(PAGE)
        switched = [app.test_client().get(f"{PAGE}?lang=ar") for _ in range(2)]
        organizers = organizer.get(PAGE)
        altered_page = altered.get(PAGE)
    assert reached == [f"{PAGE}?lang=ar", f"{PAGE}?lang=ar", f"{PAGE}?", f"{PAGE}?"]
    assert "Set-Cookie" not in page.headers  # the session it has holds the token already
    flask_headers = {k: v for k, v in first_visit.headers if k != "Set-Cookie"}
    assert dict(page.headers) == flask_headers
    for r in switched:
        assert any(c.startswith("lang=ar;") for c in r.headers.get_all("Set-Cookie"))
    assert "Set-Cookie" not in organizers.headers
    assert altered_page.headers["Set-Cookie"].startswith("session=")  # a new session
    assert _sign(returning, csrf_from(page.get_data(as_text=True)), "r@example.org") == 303
    assert _sign(altered, csrf_from(page.get_data(as_text=True)), "x@example.org") == 400


def test_kept_sign_frames_give_each_load_its_own_token_for_its_own_site(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(page_cache_seconds=60)
    with app.app_context(), session_scope() as session:
        source = dataclasses.replace(petitions.parse_petition_file(DARAA), slug="other")
        petitions.publish(session, source=source)
    client = app.test_client()
    frame = f"/embed/{SLUG}"
    with reaching_flask(app) as reached:
        loads = [
            client.get(frame, headers={"Referer": f"https://site{n}.example/a"}) for n in range(3)
        ]
        claimed = client.get(f"{frame}?origin=https://claimed.example")
        claimed_again = client.get(f"{frame}?origin=https://claimed.example")
        other = [client.get("/embed/other") for _ in range(2)]
        arabic = [client.get(frame, headers={"Accept-Language": "ar"}) for _ in range(2)]
    assert reached == [
        f"{frame}?",
        f"{frame}?origin=https://claimed.example",
        "/embed/other?",
        f"{frame}?",
    ]
    frames = [*loads, claimed, claimed_again, *other, *arabic]
    assert all(r.status_code == HTTPStatus.OK for r in frames)
    assert all(r.headers["Cache-Control"] == "no-store" for r in frames)
    assert "Set-Cookie" not in {name for r in frames for name, _ in r.headers}
    tokens = [FORM_TOKEN.search(r.get_data(as_text=True)).group(1) for r in frames]  # type: ignore[union-attr]
    # A token names the petition and the framing site (no reader): loads from one site
    # within a second may share one; each of three sites has its own.
    assert len(set(tokens[:3])) == 3
    assert all("\x00" not in r.get_data(as_text=True) for r in frames)
    assert 'dir="rtl"' in arabic[1].get_data(as_text=True)
    assert 'action="/embed/other/sign' in other[1].get_data(as_text=True)
    with app.app_context(), session_scope() as session:
        daraa = petitions.get_by_slug(session, SLUG)
        assert daraa is not None

        def origin(token: str) -> str | None:
            check = service.check_form_token(
                secret_key=app.secret_key,  # type: ignore[arg-type]
                petition=daraa,
                token=token,
                max_age=dt.timedelta(minutes=5),
            )
            assert check.state == service.FormTokenState.VALID
            return check.origin

        origins = [origin(token) for token in tokens[:5]]
        assert origins == [
            *(f"https://site{n}.example" for n in range(3)),
            "https://claimed.example",
            "https://claimed.example",
        ]
        # A kept frame of another petition carries that petition's token.
        other_state = service.check_form_token(
            secret_key=app.secret_key,  # type: ignore[arg-type]
            petition=daraa,
            token=tokens[6],
            max_age=dt.timedelta(minutes=5),
        ).state
        assert other_state == service.FormTokenState.OTHER_PETITION
    # A replayed frame's form signs like a fresh one.
    signed = client.post(
        f"/embed/{SLUG}/sign",
        data={
            "token": tokens[2],
            "name": "Layla Haddad",
            "email": "w@example.org",
            "country": "SY",
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert signed.status_code == HTTPStatus.SEE_OTHER
    assert _signatures(app) == 1


def test_kept_answers_are_keyed_on_the_language_a_header_prefers_not_its_spelling(
    make_app: Callable[..., Flask],
) -> None:
    # A crowd's browsers spell Accept-Language many ways; keyed on the raw header, each
    # spelling was a miss and a copy of the page.
    app = make_app(page_cache_seconds=60)
    spellings = {
        "en": ["en-GB,en;q=0.9", "en-US", "fr-FR,fr;q=0.9", ""],
        "ar": ["ar-SY,ar;q=0.9,en;q=0.5", "ar", "ar-EG"],
    }
    with reaching_flask(app) as reached:
        pages = {
            language: [
                app.test_client().get(PAGE, headers={"Accept-Language": spelling})
                for spelling in spelled
            ]
            for language, spelled in spellings.items()
        }
        counts = [
            app.test_client().get(f"{PAGE}/count", headers={"Accept-Language": s})
            for s in ("en-US", "en-GB", "ar-SY", "ar")
        ]
    assert reached == [f"{PAGE}?", f"{PAGE}?", f"{PAGE}/count?", f"{PAGE}/count?"]
    for page in pages["en"]:
        assert '<html lang="en" dir="ltr">' in page.get_data(as_text=True)
    for page in pages["ar"]:
        assert '<html lang="ar" dir="rtl">' in page.get_data(as_text=True)
    assert counts[0].get_data() == counts[1].get_data() != counts[2].get_data()
    assert counts[2].get_data() == counts[3].get_data()
