"""Layla signs, confirms, her signature is delivered, and she downloads her receipt from
the link she was mailed; it verifies against the published key."""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.export import batch_key, delivery, receipts
from petition.petitions.models import Petition
from petition.signing import links
from tests.export.conftest import make_batch
from tests.signing.test_service import (
    confirm_token_of,
    do_sign,
    fold,
    outbox,
    signer,
    withdraw_token_of,
)

SLUG = "defend-the-people-of-daraa"


def test_signer_downloads_a_receipt_once_delivered(
    app: Flask, petition: Petition, tmp_path: Path
) -> None:
    do_sign(app, petition, signer("layla@example.org"))
    do_sign(app, petition, signer("omar@example.org", name="Omar"))
    layla_mail = outbox(app)[0]
    for message in outbox(app):
        with app.app_context(), session_scope() as session:
            fresh = session.get(Petition, petition.id)
            assert fresh is not None
            links.confirm(session, petition=fresh, token=confirm_token_of(app, message))
    fold(app)
    token = withdraw_token_of(layla_mail)
    page = f"/p/{SLUG}/withdraw/{token}"
    client = app.test_client()

    # Confirmed, but in no batch yet: the page has no receipt, the address answers 404.
    assert "Download your receipt" not in client.get(page).get_data(as_text=True)
    assert client.get(f"{page}/receipt.json").status_code == HTTPStatus.NOT_FOUND

    make_batch(app, tmp_path)
    # In a batch not yet delivered: still none.
    assert client.get(f"{page}/receipt.json").status_code == HTTPStatus.NOT_FOUND
    with app.app_context(), session_scope() as session:
        fresh = session.scalars(sa.select(Petition)).one()
        delivery.mark_delivered(
            session, petition=fresh, sequence=1, to="Governor's office", actor="cli:test"
        )

    html = client.get(page).get_data(as_text=True)
    assert "Your signature is in batch 1, delivered to Governor&#39;s office" in html
    assert f'href="{page}/receipt.json"' in html
    arabic = client.get(f"{page}?lang=ar").get_data(as_text=True)
    assert "نزّل إيصالك" in arabic

    response = client.get(f"{page}/receipt.json")
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Cache-Control"] == "no-store"
    receipt = json.loads(response.data)
    assert "Layla Haddad" in receipt["leaf"]
    assert "Omar" not in json.dumps(receipt)
    assert receipt["delivered_to"] == "Governor's office"
    report = receipts.verify_receipt(receipt, public_key=batch_key.app_key(app).public_key())
    assert report.failures == []

    # Someone else's guess of a link gets nothing.
    assert client.get(f"/p/{SLUG}/withdraw/x{token}/receipt.json").status_code == 404
