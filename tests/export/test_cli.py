"""`flask petition export | verify | delivered | batches | data-export`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.config import PROJECT_ROOT
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


def flask_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``flask --app wsgi ARGS`` as an operator runs it, in a process of its own, with only
    the PETITION_* settings in ``env``; -X importtime lists every module it imports."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PETITION_", "FLASK_"))}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def imported(done: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules a ``flask_command`` imported (from its -X importtime lines)."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_flask_verify_runs_without_the_app_or_the_database(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    """With the service's own key (no --public-key): found from the settings alone, while
    the database named cannot be reached and is never needed."""
    signatures.add(["ليلى حداد", "Omar"])
    assert run(app, "export", "--petition", SLUG, "--out", str(out_dir)).exit_code == 0
    path = out_dir / f"{SLUG}-batch-1.zip"
    env = {
        "PETITION_INSTANCE_PATH": app.instance_path,  # where the test app's key is
        "PETITION_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing-listens-here",
    }
    done = flask_command("petition", "verify", str(path), env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "ok    manifest.sig: valid Ed25519 signature" in done.stdout
    assert "ok    signatures.csv: Merkle root" in done.stdout
    assert done.stdout.strip().endswith(f"{path}: valid")
    modules = imported(done)
    assert "petition.export.verify" in modules
    # Not the app (wsgi.py), its database layer, or the exporter.
    assert not modules & {"wsgi", "sqlalchemy", "flask_sqlalchemy", "petition.export.zipfiles"}

    # Tampered, it fails the same way as through the app.
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("smuggled.txt", b"hello")
    done = flask_command("petition", "verify", str(path), env=env)
    assert done.returncode == 1
    assert "FAIL  smuggled.txt: in the ZIP but not listed in the manifest (added)" in done.stdout


def test_a_recipient_verifies_with_the_published_key_and_no_service_configured(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    """Production settings that could not start the service (no secret key, no database,
    no mail) do not stop a check against a key given."""
    signatures.add(["Omar"])
    assert run(app, "export", "--petition", SLUG, "--out", str(out_dir)).exit_code == 0
    pem = tmp_path / "key.pem"
    pem.write_bytes(app.test_client().get("/.well-known/petition-signing-key.pem").data)
    path = out_dir / f"{SLUG}-batch-1.zip"
    done = flask_command(
        "petition",
        "verify",
        str(path),
        "--public-key",
        str(pem),
        env={"PETITION_ENV": "production"},
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.strip().endswith(f"{path}: valid")

    # Without a key given, the service's own is needed, and its settings say why not.
    done = flask_command("petition", "verify", str(path), env={"PETITION_ENV": "production"})
    assert done.returncode == 1
    assert "Error: PETITION_SECRET_KEY" in done.stderr


def test_the_other_commands_still_run_in_the_app() -> None:
    done = flask_command("petition", "--help", env={})
    assert done.returncode == 0, done.stderr[-3000:]
    for command in ("export", "verify", "verify-receipt", "worker", "import"):
        assert f"  {command} " in done.stdout
    assert "wsgi" in imported(done)


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
