"""The framed widget page and its cookie-free sign form, through the test client."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from petition.db import db, session_scope, utcnow
from petition.mail.models import OutboxMessage
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus
from petition.signing.models import Signature, SignatureSource
from petition.widget import service
from tests.helpers import DARAA

SLUG = "defend-the-people-of-daraa"
HOST = "http://127.0.0.2:8000"
FRAME_POST = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


def token_in(response: TestResponse) -> str:
    found = TOKEN.search(response.get_data(as_text=True))
    assert found, "no token field in the widget"
    return found.group(1)


def widget(
    client: FlaskClient, *, referer: str = f"{HOST}/campaign", **params: str
) -> TestResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"/embed/{SLUG}?{query}", headers={"Referer": referer} if referer else {})


def fields(token: str, **extra: str) -> dict[str, str]:
    return {
        "token": token,
        "name": "Layla Haddad",
        "email": "layla@example.org",
        "country": "SY",
        **extra,
    }


def stored(app: Flask) -> tuple[list[Signature], list[OutboxMessage]]:
    with app.app_context():
        return (
            list(db.session.scalars(sa.select(Signature))),
            list(db.session.scalars(sa.select(OutboxMessage))),
        )


def frame_ancestors(response: TestResponse) -> str:
    policy = response.headers["Content-Security-Policy"]
    [directive] = [d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors")]
    return directive.removeprefix("frame-ancestors ")


@pytest.mark.usefixtures("petition")
def test_the_widget_shows_count_and_form_and_may_be_framed_by_any_site(client: FlaskClient) -> None:
    response = widget(client)
    assert response.status_code == HTTPStatus.OK
    html = response.get_data(as_text=True)
    assert "Defend the People of Daraa" in html
    assert 'class="count-figure"' in html
    assert 'name="email"' in html
    assert "csrf_token" not in html
    assert frame_ancestors(response) == "*"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert 'src="/static/widget-frame.js?v=' in html  # versioned by content (templating.py)


@pytest.mark.usefixtures("petition")
def test_every_other_page_refuses_to_be_framed(client: FlaskClient) -> None:
    for path in ("/", f"/p/{SLUG}", f"/p/{SLUG}/signed", "/api/v1/petitions", "/embed/nope"):
        assert frame_ancestors(client.get(path)) == "'none'", path


def test_a_restricted_petition_names_its_sites(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    with app.app_context(), session_scope() as session:
        service.set_embed_origins(
            session, petition=session.merge(petition), origins=[HOST], actor="cli:test"
        )
    assert frame_ancestors(widget(client)) == HOST
    token = token_in(widget(client))
    signed = client.post(f"/embed/{SLUG}/sign", data=fields(token), headers=FRAME_POST)
    assert frame_ancestors(signed) == HOST
    assert frame_ancestors(client.get(signed.headers["Location"])) == HOST


@pytest.mark.usefixtures("petition")
def test_count_mode_has_no_form_and_may_be_cached(client: FlaskClient) -> None:
    response = widget(client, mode="count")
    html = response.get_data(as_text=True)
    assert "<form" not in html
    assert 'class="count-figure"' in html
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert "Accept-Language" in response.headers["Vary"]


def test_signing_in_the_widget_records_the_embedding_site(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    token = token_in(widget(client, lang="ar"))
    response = client.post(
        f"/embed/{SLUG}/sign?lang=ar", data=fields(token, public="y"), headers=FRAME_POST
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"] == f"/embed/{SLUG}/signed?lang=ar"
    assert "Set-Cookie" not in response.headers
    done = client.get(response.headers["Location"])
    assert done.status_code == HTTPStatus.OK
    assert 'dir="rtl"' in done.get_data(as_text=True)
    assert "Set-Cookie" not in done.headers
    [signature], [mail] = stored(app)
    assert signature.source == SignatureSource.WIDGET
    assert signature.source_origin == HOST
    assert signature.is_public is True
    assert mail.template == "confirm"
    assert mail.locale == "ar"


def test_the_claimed_origin_counts_when_there_is_no_referer(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    token = token_in(widget(client, referer="", origin="https://news.example"))
    # Origin: null, as Chromium sends under a no-referrer policy, is accepted.
    client.post(
        f"/embed/{SLUG}/sign",
        data=fields(token),
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    )
    [signature], _ = stored(app)
    assert signature.source_origin == "https://news.example"


def test_the_configured_public_origin_is_ours_too(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    # Behind a TLS proxy the request may arrive as http://localhost while the browser
    # sends the public https origin configured as PETITION_BASE_URL.
    public = app.config["PETITION_SETTINGS"].base_url
    token = token_in(widget(client))
    response = client.post(
        f"/embed/{SLUG}/sign",
        data=fields(token),
        headers={"Sec-Fetch-Site": "same-origin", "Origin": public},
        base_url="http://127.0.0.1:8080",
    )
    assert response.status_code == HTTPStatus.SEE_OTHER


def test_an_already_signed_address_sees_the_same_answer(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    first = client.post(
        f"/embed/{SLUG}/sign", data=fields(token_in(widget(client))), headers=FRAME_POST
    )
    second = client.post(
        f"/embed/{SLUG}/sign", data=fields(token_in(widget(client))), headers=FRAME_POST
    )
    assert first.status_code == second.status_code == HTTPStatus.SEE_OTHER
    assert first.headers["Location"] == second.headers["Location"]
    signatures, mails = stored(app)
    assert len(signatures) == 1
    assert [m.template for m in mails] == ["confirm", "already_signed"]


def _token(app: Flask, petition: Petition, **kwargs: object) -> str:
    settings = app.config["PETITION_SETTINGS"]
    return service.issue_form_token(
        secret_key=settings.secret_key, petition=petition, origin=HOST, **kwargs
    )


@pytest.mark.parametrize("kind", ["forged", "expired", "other_petition", "missing"])
def test_a_bad_token_is_a_clear_error_and_nothing_is_stored(
    app: Flask, client: FlaskClient, petition: Petition, kind: str
) -> None:
    if kind == "forged":
        token = service.issue_form_token(
            secret_key="not-the-server-key", petition=petition, origin=HOST
        )
    elif kind == "expired":
        ttl = dt.timedelta(minutes=app.config["PETITION_SETTINGS"].widget_token_ttl_minutes)
        token = _token(app, petition, now=utcnow() - ttl - dt.timedelta(seconds=5))
    elif kind == "other_petition":
        other = dataclasses.replace(petitions.parse_petition_file(DARAA), slug="other")
        with app.app_context(), session_scope() as session:
            token = _token(app, petitions.publish(session, source=other))
    else:
        token = ""
    response = client.post(f"/embed/{SLUG}/sign", data=fields(token), headers=FRAME_POST)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    html = response.get_data(as_text=True)
    assert 'role="alert" id="token-problem"' in html
    if kind == "expired":
        assert "expired" in html
    else:
        assert "nothing was saved" in html
    # The typed values stay, with a fresh token, so sending again is one click.
    assert 'value="layla@example.org"' in html
    fresh = token_in(response)
    assert fresh != token
    assert stored(app) == ([], [])
    again = client.post(f"/embed/{SLUG}/sign", data=fields(fresh), headers=FRAME_POST)
    assert again.status_code == HTTPStatus.SEE_OTHER


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"},
    ],
)
def test_a_post_from_another_site_is_refused(
    app: Flask, client: FlaskClient, petition: Petition, headers: dict[str, str]
) -> None:
    token = token_in(widget(client))
    response = client.post(f"/embed/{SLUG}/sign", data=fields(token), headers=headers)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert 'data-problem="cross_site"' in response.get_data(as_text=True)
    assert stored(app) == ([], [])


def test_invalid_fields_are_shown_in_the_frame(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    token = token_in(widget(client))
    response = client.post(
        f"/embed/{SLUG}/sign", data=fields(token, email="nope", name="=cmd"), headers=FRAME_POST
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    html = response.get_data(as_text=True)
    assert "Please enter a valid email address." in html
    assert 'aria-invalid="true"' in html
    assert token_in(response)
    assert stored(app) == ([], [])


def test_a_closed_petition_takes_no_signature(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    token = token_in(widget(client))
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(status=PetitionStatus.CLOSED))
    response = client.post(f"/embed/{SLUG}/sign", data=fields(token), headers=FRAME_POST)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "closed" in response.get_data(as_text=True)
    assert "<form" not in response.get_data(as_text=True)
    assert stored(app) == ([], [])


def test_unknown_petition_is_404(client: FlaskClient) -> None:
    assert client.get("/embed/nope").status_code == HTTPStatus.NOT_FOUND
    assert client.post("/embed/nope/sign", headers=FRAME_POST).status_code == HTTPStatus.NOT_FOUND


def test_embed_js_is_small_cacheable_and_loadable_from_any_site(client: FlaskClient) -> None:
    response = client.get("/embed.js")
    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "text/javascript"
    assert len(response.data) < 5 * 1024
    assert "public" in response.headers["Cache-Control"]
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    script = response.get_data(as_text=True)
    assert "event.origin !== service" in script
    assert "event.source !== frame.contentWindow" in script


@pytest.mark.usefixtures("petition")
def test_the_petition_page_offers_the_snippet(client: FlaskClient) -> None:
    html = client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "Embed this petition" in html
    assert (
        f"&lt;script src=&#34;http://localhost/embed.js&#34; data-petition=&#34;{SLUG}&#34; async&gt;&lt;/script&gt;"
        in html
    )
    assert f"&lt;a href=&#34;http://localhost/p/{SLUG}&#34; data-petition-fallback&gt;" in html


def test_the_page_forms_bot_traps_come_along(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    page = widget(client)
    html = page.get_data(as_text=True)
    assert 'name="website"' in html
    shown = re.search(r'name="shown" type="hidden" value="([^"]+)"', html)
    assert shown
    response = client.post(
        f"/embed/{SLUG}/sign",
        data=fields(token_in(page), shown=shown.group(1), website="http://spam.example"),
        headers=FRAME_POST,
    )
    # The same answer as for anyone; the signature waits for a moderator.
    assert response.status_code == HTTPStatus.SEE_OTHER
    [signature], _ = stored(app)
    assert "honeypot" in (signature.flag_reasons or "")
    assert "too_fast" in (signature.flag_reasons or "")


def test_over_the_sign_limit_the_frame_says_so(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ratelimit_sign_per_ip="1/minute")
    client = app.test_client()
    first = client.post(
        f"/embed/{SLUG}/sign", data=fields(token_in(widget(client))), headers=FRAME_POST
    )
    assert first.status_code == HTTPStatus.SEE_OTHER
    second = client.post(
        f"/embed/{SLUG}/sign",
        data=fields(token_in(widget(client)), email="other@example.org"),
        headers=FRAME_POST,
    )
    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS
    html = second.get_data(as_text=True)
    assert "Too many requests" in html
    assert 'class="widget"' in html
    assert int(second.headers["Retry-After"]) > 0
    # When to come back, as on the site's own 429 page.
    assert "Please try again in" in html
    assert "UTC</time>" in html
    # Shown in the frame: the petition's framing policy, not 'none'.
    assert frame_ancestors(second) == "*"
    signatures, _ = stored(app)
    assert len(signatures) == 1
