"""The signer's own page ("your signature"), opened by the withdraw link of any mail:
each standing in English and Arabic, the delivered batch and its receipt, nothing of
anyone else."""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.export import delivery
from petition.petitions.models import Petition
from petition.signing.models import Signature, SignatureStatus
from tests.export.conftest import make_batch
from tests.helpers.forms import csrf_from
from tests.signing.test_service import do_sign, fold, outbox, signer, withdraw_token_of

SLUG = "defend-the-people-of-daraa"

# What the page says for each standing: its heading, in English and in Arabic.
STANDINGS = {
    "waiting": ({}, ("Waiting for confirmation", "بانتظار التأكيد"), HTTPStatus.OK),
    "counted": (
        {"status": SignatureStatus.VERIFIED},
        ("Confirmed and counted", "مؤكَّد ومحسوب"),
        HTTPStatus.OK,
    ),
    "held": (
        {"status": SignatureStatus.VERIFIED, "is_held": True, "flag_reasons": "burst"},
        ("Held for review", "قيد المراجعة"),
        HTTPStatus.OK,
    ),
    "not counted": (
        {"status": SignatureStatus.INVALIDATED, "flag_reasons": "blocklist"},
        ("Not counted", "غير محسوب"),
        HTTPStatus.OK,
    ),
    "withdrawn": (
        {"status": SignatureStatus.WITHDRAWN, "name": None},
        ("This signature was withdrawn", "سُحب هذا التوقيع"),
        HTTPStatus.GONE,
    ),
}


def _signed(app: Flask, petition: Petition, email: str = "layla@example.org") -> str:
    """Sign as ``email``; the path of the withdraw link in the confirmation mail."""
    do_sign(app, petition, signer(email))
    return f"/p/{SLUG}/withdraw/{withdraw_token_of(outbox(app)[-1])}"


def _set(app: Flask, address: str, **values: object) -> None:
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(Signature).where(Signature.canonical_email == address).values(**values)
        )


@pytest.mark.parametrize("standing", list(STANDINGS))
def test_the_page_says_where_the_signature_stands(
    app: Flask, petition: Petition, standing: str
) -> None:
    path = _signed(app, petition)
    values, (english, arabic), status = STANDINGS[standing]
    if values:
        _set(app, "layla@example.org", **values)
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == status
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert english in html
    assert "<title>Your signature" in html
    # Why a signature is held or set aside is never said.
    assert "burst" not in html
    assert "blocklist" not in html
    assert ("Withdraw my signature" in html) == (standing != "withdrawn")
    # No receipt before a delivered batch holds the signature.
    assert "Download your receipt" not in html
    # ?lang= sets a cookie: Arabic in a client of its own.
    ar = app.test_client().get(f"{path}?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in ar
    assert arabic in ar
    assert english not in ar


def test_a_link_never_mailed_is_not_found(app: Flask, petition: Petition) -> None:
    path = _signed(app, petition)
    page = app.test_client().get(path[:-4] + "AAAA")
    assert page.status_code == HTTPStatus.NOT_FOUND
    assert "This link is not valid" in page.get_data(as_text=True)


def test_delivered_batch_shows_on_the_page_with_the_receipt_even_after_withdrawal(
    app: Flask, petition: Petition, tmp_path: Path
) -> None:
    path = _signed(app, petition)
    other = _signed(app, petition, "omar@example.org")
    _set(app, "omar@example.org", name="Omar Saleh")
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Signature).values(status=SignatureStatus.VERIFIED))
    fold(app)
    make_batch(app, tmp_path)
    client = app.test_client()
    # In a batch not yet delivered: counted, nothing more.
    assert "batch 1" not in client.get(path).get_data(as_text=True)
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        delivery.mark_delivered(
            session, petition=fresh, sequence=1, to="Governor's office", actor="cli:test"
        )

    html = client.get(path).get_data(as_text=True)
    assert "Confirmed and counted" in html
    assert "in batch 1, delivered to Governor&#39;s office on" in html
    assert f'href="{path}/receipt.json"' in html
    # The page holds this signer's facts only.
    for other_details in ("Omar", "omar@", "Layla"):
        assert other_details not in html
    # ?lang= sets a cookie: Arabic in a client of its own.
    ar = app.test_client().get(f"{path}?lang=ar").get_data(as_text=True)
    assert "في الدفعة 1 التي سُلّمت إلى Governor&#39;s office" in ar
    assert "نزّل إيصالك" in ar

    csrf = csrf_from(client.get(path).get_data(as_text=True))
    withdrawn = client.post(path, data={"csrf_token": csrf, "confirm_withdraw": "yes"})
    assert withdrawn.status_code == HTTPStatus.OK
    gone = client.get(path)
    assert gone.status_code == HTTPStatus.GONE
    html = gone.get_data(as_text=True)
    assert "This signature was withdrawn" in html
    assert "in batch 1, delivered to" in html
    assert "it also says that you withdrew since" in html
    assert "Withdraw my signature" not in html
    receipt = client.get(f"{path}/receipt.json")
    assert receipt.status_code == HTTPStatus.OK
    assert json.loads(receipt.data)["status"] == "withdrawn"
    # Omar's own page is untouched by Layla's withdrawal.
    assert "Confirmed and counted" in client.get(other).get_data(as_text=True)
