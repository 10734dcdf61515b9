"""/p/<slug>/batches: every batch, its root and chain, and its signed manifest; no signer data."""

from __future__ import annotations

import hashlib
import json
from http import HTTPStatus
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.export import batch_key, delivery
from petition.export.models import ExportBatch
from petition.petitions.models import Petition
from petition.signing.models import Signature
from tests.export.conftest import Signatures, make_batch, read_manifest

SLUG = "defend-the-people-of-daraa"
URL = f"/p/{SLUG}/batches"


def two_delivered_batches(app: Flask, signatures: Signatures, out_dir: Path) -> list[Path]:
    signatures.add(["Layla Haddad", "Omar Khaled"], postcode="94110")
    first = make_batch(app, out_dir)
    signatures.add(["Sara Nasser"])
    second = make_batch(app, out_dir)
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        delivery.mark_delivered(
            session, petition=petition, sequence=1, to="Governor's office", actor="cli:test"
        )
    return [first, second]


def test_the_list_shows_every_batch_its_root_and_the_whole_chain(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    paths = two_delivered_batches(app, signatures, out_dir)
    response = app.test_client().get(URL)
    assert response.status_code == HTTPStatus.OK
    assert "max-age=60" in response.headers["Cache-Control"]
    html = response.get_data(as_text=True)
    for path in paths:
        manifest = read_manifest(path)
        assert manifest["merkle"]["root"] in html  # type: ignore[index]
        with __import__("zipfile").ZipFile(path) as zf:
            assert hashlib.sha256(zf.read("manifest.json")).hexdigest() in html
    assert "The chain is whole" in html
    assert "Governor&#39;s office" in html
    assert "Not yet" in html
    assert 'href="/p/defend-the-people-of-daraa/batches/2/manifest.json"' in html


def test_the_list_holds_no_personal_data(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    two_delivered_batches(app, signatures, out_dir)
    html = app.test_client().get(URL).get_data(as_text=True)
    with app.app_context(), session_scope(write=False) as session:
        stored = session.execute(
            sa.select(Signature.name, Signature.email, Signature.postcode, Signature.receipt_id)
        ).all()
        actors = session.scalars(sa.select(ExportBatch.created_by)).all()
    assert stored
    for row in stored:
        for value in row:
            assert value is None or value not in html
    for name in ("Layla", "Omar", "Sara", "@example.org", "94110", *actors):
        assert name not in html


def test_the_published_manifest_and_signature_are_the_batchs_and_verify(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    import zipfile

    paths = two_delivered_batches(app, signatures, out_dir)
    client = app.test_client()
    body = client.get(f"{URL}/2/manifest.json")
    sig = client.get(f"{URL}/2/manifest.sig")
    assert body.status_code == sig.status_code == HTTPStatus.OK
    with zipfile.ZipFile(paths[1]) as zf:
        assert body.data == zf.read("manifest.json")
        assert sig.data == zf.read("manifest.sig")
    batch_key.app_key(app).public_key().verify(sig.data, body.data)  # raises if not
    manifest = json.loads(body.data)
    assert "Layla" not in body.get_data(as_text=True)
    assert manifest["batch"]["sequence"] == 2


def test_a_gap_in_the_chain_shows(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    two_delivered_batches(app, signatures, out_dir)
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(ExportBatch)
            .where(ExportBatch.sequence == 2)
            .values(previous_manifest_sha256="0" * 64)
        )
    html = app.test_client().get(URL).get_data(as_text=True)
    assert "The chain is broken" in html
    assert "does not match the batch before" in html


def test_unknown_petition_or_batch_is_404(app: Flask, petition: Petition) -> None:
    client = app.test_client()
    assert client.get("/p/nope/batches").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"{URL}/1/manifest.json").status_code == HTTPStatus.NOT_FOUND
    assert client.get(f"{URL}/1/manifest.sig").status_code == HTTPStatus.NOT_FOUND
    html = client.get(URL).get_data(as_text=True)
    assert "No batch has been made yet." in html


def test_the_list_in_arabic(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    two_delivered_batches(app, signatures, out_dir)
    html = app.test_client().get(f"{URL}?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "دفعات التوقيعات" in html
    assert "السلسلة كاملة" in html


def test_the_petition_page_links_to_the_batches(app: Flask, petition: Petition) -> None:
    html = app.test_client().get(f"/p/{SLUG}").get_data(as_text=True)
    assert f'href="{URL}"' in html


def test_a_missing_batch_number_shows_and_the_chain_is_not_whole(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    two_delivered_batches(app, signatures, out_dir)
    with app.app_context(), session_scope() as session:
        # As if batch 2's row were gone and what was made after it remained: its hashes
        # still name batch 1, but a number is missing before it.
        session.execute(sa.update(ExportBatch).where(ExportBatch.sequence == 2).values(sequence=3))
    html = app.test_client().get(URL).get_data(as_text=True)
    assert "a batch before this one is missing" in html
    assert "The chain is broken" in html
    assert html.index('id="batch-3"') < html.index('id="batch-1"')
    assert html.count("a batch before this one is missing") == 1
    assert '<th scope="col">Batch</th>' in html
    assert "<caption>Batches made for this petition, newest first</caption>" in html
