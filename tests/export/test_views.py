"""The public key and its fingerprint, where recipients find them."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask
from flask.testing import FlaskClient

from petition.export import keys
from petition.petitions.models import Petition


def test_public_key_is_served_as_pem(app: Flask, client: FlaskClient) -> None:
    response = client.get("/.well-known/petition-signing-key.pem")
    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "application/x-pem-file"
    assert "max-age" in response.headers["Cache-Control"]
    key = keys.load_public_key(response.data)
    assert keys.fingerprint(key) == keys.fingerprint(keys.app_key(app).public_key())
    assert b"PRIVATE" not in response.data


def test_petition_page_shows_the_fingerprint_and_links_the_key(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    html = client.get(f"/p/{petition.slug}").get_data(as_text=True)
    fingerprint = keys.fingerprint(keys.app_key(app).public_key())
    assert fingerprint in html
    assert 'href="/.well-known/petition-signing-key.pem"' in html
