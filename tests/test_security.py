"""Security headers on every page."""

from __future__ import annotations

from flask.testing import FlaskClient

from petition.petitions.models import Petition


def test_pages_send_strict_headers(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_over_https(client: FlaskClient) -> None:
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_httponly_and_lax(client: FlaskClient) -> None:
    from tests.helpers import DARAA

    client.application.test_cli_runner().invoke(args=["petition", "import", str(DARAA)])
    response = client.get("/p/defend-the-people-of-daraa")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_every_page_sends_the_privacy_headers(client: FlaskClient, petition: Petition) -> None:
    for path in ("/", f"/p/{petition.slug}", "/p/nothing", f"/p/{petition.slug}/card.png"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "camera=()" in headers["Permissions-Policy"]
        assert "geolocation=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS means nothing


def test_polled_reads_neither_read_nor_touch_the_session(
    client: FlaskClient, petition: Petition
) -> None:
    from http import HTTPStatus

    from petition.security import SESSIONLESS_READS, SessionlessReads
    from tests.helpers.forms import sign_form

    slug = petition.slug
    page = client.get(f"/p/{slug}")
    assert "session=" in page.headers["Set-Cookie"]
    for path in (
        f"/p/{slug}/count",
        f"/p/{slug}/countries",
        f"/p/{slug}/figures.json",
        f"/p/{slug}/figures-daily.csv",
        f"/p/{slug}/figures-hourly.csv",
        f"/api/v1/petitions/{slug}",
        f"/embed/{slug}",
        f"/embed/{slug}?mode=count",
        "/embed.js",
    ):
        read = client.get(path)  # the session cookie goes along, as from an open page
        assert read.status_code == HTTPStatus.OK, path
        assert "Set-Cookie" not in read.headers, path
    # The session the page made still holds its CSRF token: the form still signs.
    signed = client.post(f"/p/{slug}/sign", data=sign_form(client, slug))
    assert signed.status_code == HTTPStatus.SEE_OTHER
    assert isinstance(client.application.session_interface, SessionlessReads)
    for path in (f"/p/{slug}", f"/p/{slug}/sign", "/admin/login", "/p/x/confirm/t"):
        assert not SESSIONLESS_READS.match(path), path
