"""`flask petition export | verify | delivered | batches | data-export`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.export import batch_key
from petition.export.models import ExportBatch
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus
from tests.export.conftest import Signatures

SLUG = "defend-the-people-of-daraa"


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["petition", *args])


def test_export_then_verify_with_the_published_key(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    signatures.add(["ليلى حداد", "Omar"])
    result = run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    assert result.exit_code == 0, result.output
    path = out_dir / f"{SLUG}-batch-1.zip"
    assert f"{path}: batch 1, 2 signatures (1–2)" in result.output

    pem = tmp_path / "key.pem"
    pem.write_bytes(app.test_client().get("/.well-known/petition-signing-key.pem").data)
    result = run(app, "verify", str(path), "--public-key", str(pem))
    assert result.exit_code == 0, result.output
    assert "ok    manifest.sig: valid Ed25519 signature" in result.output
    assert result.output.strip().endswith(f"{path}: valid")


def test_verify_names_failures_and_exits_non_zero(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A", "B"])
    assert run(app, "export", "--petition", SLUG, "--out", str(out_dir)).exit_code == 0
    path = out_dir / f"{SLUG}-batch-1.zip"
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("smuggled.txt", b"hello")
    result = run(app, "verify", str(path))
    assert result.exit_code == 1
    assert "FAIL  smuggled.txt: in the ZIP but not listed in the manifest (added)" in result.output
    assert "NOT VALID (1 problem)" in result.output


def test_verify_with_previous_checks_the_chain(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    signatures.add(["B"])
    run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    signatures.add(["C"])
    run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    one, two, three = (str(out_dir / f"{SLUG}-batch-{n}.zip") for n in (1, 2, 3))
    assert run(app, "verify", two, "--previous", one).exit_code == 0
    result = run(app, "verify", three, "--previous", one)
    assert result.exit_code == 1
    assert "batch 2 is missing" in result.output


def test_export_all_marks_a_full_reexport(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    result = run(app, "export", "--petition", SLUG, "--out", str(out_dir), "--all")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out_dir / f"{SLUG}-batch-2.zip") as zf:
        assert json.loads(zf.read("manifest.json"))["batch"]["is_full_reexport"] is True


def test_export_errors_are_clear(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    result = run(app, "export", "--petition", "nope", "--out", str(out_dir))
    assert result.exit_code != 0
    assert "no petition nope" in result.output
    result = run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    assert result.exit_code != 0
    assert "No verified signature to export yet." in result.output
    assert list(out_dir.iterdir()) == []


def test_a_bad_public_key_file_is_refused(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    batch = tmp_path / "b.zip"
    batch.write_bytes(b"x")
    result = run(app, "verify", str(batch), "--public-key", str(bad))
    assert result.exit_code != 0
    assert "not a PEM public key" in result.output


def test_delivered_records_the_recipient_and_can_deliver_the_petition(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    result = run(app, "delivered", SLUG, "2", "--to", "UN")
    assert result.exit_code != 0
    assert f"{SLUG} has no batch 2" in result.output
    # The same rules as /admin: an open petition is not delivered, and nothing is recorded.
    refused = run(app, "delivered", SLUG, "1", "--to", "UN Office, Geneva", "--petition-delivered")
    assert refused.exit_code != 0
    assert "A petition that is open cannot become delivered." in refused.output
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        assert session.scalars(sa.select(ExportBatch.delivered_at)).one() is None
        petitions.change_status(session, petition=petition, to=PetitionStatus.CLOSED)
    result = run(app, "delivered", SLUG, "1", "--to", "UN Office, Geneva", "--petition-delivered")
    assert result.exit_code == 0, result.output
    assert f"{SLUG} batch 1: delivered to UN Office, Geneva" in result.output
    assert f"{SLUG}: delivered" in result.output
    with app.app_context(), session_scope(write=False) as session:
        batch = session.scalars(sa.select(ExportBatch)).one()
        assert batch.delivered_to == "UN Office, Geneva"
        assert batch.delivered_by is not None
        assert batch.delivered_by.startswith("cli:")
    listing = run(app, "batches", SLUG)
    assert "delivered to UN Office, Geneva" in listing.output


def test_data_export_writes_csv_and_json(
    app: Flask, signatures: Signatures, tmp_path: Path
) -> None:
    signatures.add(["A"])
    out = tmp_path / "all.json"
    result = run(app, "data-export", SLUG, "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    [row] = json.loads(out.read_text())
    assert row["email"].endswith("@example.org")
    out = tmp_path / "all.csv"
    assert run(app, "data-export", SLUG, "--out", str(out)).exit_code == 0
    assert out.read_text().startswith("sequence,status,name,email,")


def test_the_key_file_named_in_settings_is_used(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    with app.app_context(), session_scope(write=False) as session:
        batch = session.scalars(sa.select(ExportBatch)).one()
    assert batch.key_fingerprint == batch_key.fingerprint(batch_key.app_key(app).public_key())


def test_commands_count_one_signature_in_the_singular(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    signatures.add(["Omar"])
    made = run(app, "export", "--petition", SLUG, "--out", str(out_dir))
    path = out_dir / f"{SLUG}-batch-1.zip"
    assert f"{path}: batch 1, 1 signature (1–1)" in made.output
    listed = run(app, "batches", SLUG)
    assert "\t1 signature\t" in listed.output, listed.output
    pem = tmp_path / "key.pem"
    pem.write_bytes(app.test_client().get("/.well-known/petition-signing-key.pem").data)
    checked = run(app, "verify", str(path), "--public-key", str(pem))
    assert "signatures.csv: 1 row in signature order" in checked.output
    assert "withdrawn.csv: 0 withdrawn or invalidated signatures" in checked.output
    assert "1 signatures" not in made.output + listed.output + checked.output
