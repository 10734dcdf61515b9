"""Headers that keep readers private: nothing from other hosts, no leaking Referer."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from petition.petitions.models import Petition


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


def test_hsts_over_https(client: FlaskClient) -> None:
    headers = client.get("/", base_url="https://localhost").headers
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_share_card_is_drawn_by_the_service(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    page = client.get(f"/p/{petition.slug}").get_data(as_text=True)
    card = f"http://localhost/p/{petition.slug}/card.png"
    assert f'<meta property="og:image" content="{card}">' in page
    assert f'<meta name="twitter:image" content="{card}">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert '<meta property="og:title" content="Defend the People of Daraa">' in page
    response = client.get(f"/p/{petition.slug}/card.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert "public" in response.headers["Cache-Control"]
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(response.data)).size == (1200, 630)
    assert client.get("/p/nothing/card.png").status_code == 404
