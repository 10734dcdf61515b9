"""The public key and its fingerprint, where recipients find them."""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from petition import create_app
from petition.config import Settings
from petition.db import db, session_scope
from petition.export import batch_key
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from tests.helpers import DARAA


def test_public_key_is_served_as_pem(app: Flask, client: FlaskClient) -> None:
    response = client.get("/.well-known/petition-signing-key.pem")
    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "application/x-pem-file"
    assert "max-age" in response.headers["Cache-Control"]
    key = batch_key.load_public_key(response.data)
    assert batch_key.fingerprint(key) == batch_key.fingerprint(batch_key.app_key(app).public_key())
    assert b"PRIVATE" not in response.data


def test_petition_page_shows_the_fingerprint_and_links_the_key(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    html = client.get(f"/p/{petition.slug}").get_data(as_text=True)
    fingerprint = batch_key.fingerprint(batch_key.app_key(app).public_key())
    assert fingerprint in html
    assert 'href="/.well-known/petition-signing-key.pem"' in html
    assert 'href="/verify"' in html  # the recipient's guide, on the service itself


def test_production_without_a_key_shows_pages_and_refuses_exports(
    settings: Settings, tmp_path: Path
) -> None:
    production = dataclasses.replace(
        settings, env="production", secret_key="s" * 40, mail_url="smtp://127.0.0.1:25"
    )
    app = create_app(production)
    with app.app_context(), session_scope() as session:
        petitions.publish(session, source=petitions.parse_petition_file(DARAA))
    client = app.test_client()
    page = client.get("/p/defend-the-people-of-daraa", base_url="https://localhost")
    assert page.status_code == HTTPStatus.OK
    assert "Key fingerprint" not in page.get_data(as_text=True)
    key = client.get("/.well-known/petition-signing-key.pem", base_url="https://localhost")
    assert key.status_code == HTTPStatus.NOT_FOUND
    result = app.test_cli_runner().invoke(
        args=[
            "petition",
            "export",
            "--petition",
            "defend-the-people-of-daraa",
            "--out",
            str(tmp_path),
        ]
    )
    assert result.exit_code != 0
    assert "PETITION_SIGNING_KEY_FILE must name the batch signing key" in result.output
    assert not (Path(production.instance_path) / batch_key.DEV_KEY_NAME).exists()
    with app.app_context():
        db.engine.dispose()
