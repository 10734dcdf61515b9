"""Signed batches and the full data export from the browser: the password asked
again, the files, delivery records, and the audit log."""

from __future__ import annotations

import io
import zipfile
from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.export.models import ExportBatch
from petition.petitions.models import Petition
from tests.admin.conftest import PASSWORD, Accounts, add_signature, login, token

SLUG = "defend-the-people-of-daraa"
BATCHES = f"/admin/p/{SLUG}/batches"


def _actions(app: Flask) -> list[str]:
    with app.app_context(), session_scope() as session:
        return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _batches(app: Flask) -> list[ExportBatch]:
    with app.app_context(), session_scope() as session:
        return list(session.scalars(sa.select(ExportBatch).order_by(ExportBatch.sequence)))


def test_make_download_and_deliver_a_batch(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    add_signature(app, SLUG, "a@example.org")
    add_signature(app, SLUG, "b@example.org", country="LB")
    login(client, accounts.organizer)
    assert "2 verified signatures are in no batch yet" in client.get(BATCHES).get_data(as_text=True)

    wrong = client.post(BATCHES, data={"csrf_token": token(client, BATCHES), "password": "nope"})
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "That is not your password" in wrong.get_data(as_text=True)
    assert _batches(app) == []

    made = client.post(BATCHES, data={"csrf_token": token(client, BATCHES), "password": PASSWORD})
    assert made.status_code == HTTPStatus.SEE_OTHER
    [batch] = _batches(app)
    assert batch.signature_count == 2
    assert batch.created_by == f"user:{accounts.organizer_id}"

    again = client.post(BATCHES, data={"csrf_token": token(client, BATCHES), "password": PASSWORD})
    assert again.status_code == HTTPStatus.CONFLICT
    assert "Nothing new since batch 1" in again.get_data(as_text=True)

    download = client.post(f"{BATCHES}/1/download", data={"csrf_token": token(client, BATCHES)})
    assert download.status_code == HTTPStatus.OK
    assert download.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as archive:
        names = archive.namelist()
    download.close()
    assert "manifest.json" in names
    assert "manifest.sig" in names
    assert (
        client.post(
            f"{BATCHES}/9/download", data={"csrf_token": token(client, BATCHES)}
        ).status_code
        == HTTPStatus.NOT_FOUND
    )

    empty = client.post(
        f"{BATCHES}/1/delivered", data={"csrf_token": token(client, BATCHES), "to": " "}
    )
    assert empty.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    delivered = client.post(
        f"{BATCHES}/1/delivered",
        data={"csrf_token": token(client, BATCHES), "to": "Governor's office, by hand"},
    )
    assert delivered.status_code == HTTPStatus.SEE_OTHER
    assert _batches(app)[0].delivered_to == "Governor's office, by hand"
    twice = client.post(
        f"{BATCHES}/1/delivered", data={"csrf_token": token(client, BATCHES), "to": "Someone"}
    )
    assert twice.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "to Governor" in client.get(f"/admin/p/{SLUG}").get_data(as_text=True)
    actions = _actions(app)
    for action in ("export.batch", "export.download", "export.deliver"):
        assert action in actions, actions


def test_full_export_asks_for_the_password(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    add_signature(app, SLUG, "a@example.org")
    login(client, accounts.organizer)
    path = f"/admin/p/{SLUG}/export"
    wrong = client.post(
        path, data={"csrf_token": token(client, BATCHES), "password": "x", "fmt": "csv"}
    )
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "export.full" not in _actions(app)
    response = client.post(
        path, data={"csrf_token": token(client, BATCHES), "password": PASSWORD, "fmt": "csv"}
    )
    assert response.status_code == HTTPStatus.OK
    assert (
        response.headers["Content-Disposition"] == f'attachment; filename="{SLUG}-signatures.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert "a@example.org" in response.get_data(as_text=True)
    response.close()
    as_json = client.post(
        path, data={"csrf_token": token(client, BATCHES), "password": PASSWORD, "fmt": "json"}
    )
    assert as_json.get_data(as_text=True).lstrip().startswith("[")
    as_json.close()
    assert _actions(app).count("export.full") == 2


def test_a_download_in_progress_does_not_hold_up_signers(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    import time

    for i in range(3):
        add_signature(app, SLUG, f"s{i}@example.org")
    login(client, accounts.organizer)
    response = client.post(
        f"/admin/p/{SLUG}/export",
        data={"csrf_token": token(client, BATCHES), "password": PASSWORD, "fmt": "csv"},
    )
    chunks = iter(response.response)
    first = next(chunks) + next(chunks)  # the header and a row: it is reading signatures
    started = time.perf_counter()
    add_signature(app, SLUG, "while-downloading@example.org")
    assert time.perf_counter() - started < 5
    rest = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    response.close()
    assert b"s2@example.org" in (first if isinstance(first, bytes) else first.encode()) + rest


def test_without_a_signing_key_making_a_batch_says_why(
    settings,
    accounts: Accounts,
    petition: Petition,  # type: ignore[no-untyped-def]
) -> None:
    from dataclasses import replace

    from petition import create_app
    from petition.db import db

    production = create_app(
        replace(
            settings,
            env="production",
            secret_key="x" * 40,
            mail_url="smtp://127.0.0.1:1",
            signing_key_file="",
        )
    )
    try:
        add_signature(production, SLUG, "a@example.org")
        client = production.test_client()
        login(client, accounts.organizer)
        response = client.post(
            BATCHES, data={"csrf_token": token(client, BATCHES), "password": PASSWORD}
        )
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert "PETITION_SIGNING_KEY_FILE" in response.get_data(as_text=True)
        assert _batches(production) == []
    finally:
        with production.app_context():
            db.engine.dispose()
