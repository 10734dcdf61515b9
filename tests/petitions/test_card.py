"""The share preview: Open Graph and Twitter card tags, and an image the service draws."""

from __future__ import annotations

from io import BytesIO

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from petition.petitions.models import Petition


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
    assert Image.open(BytesIO(response.data)).size == (1200, 630)
    assert client.get("/p/nothing/card.png").status_code == 404
