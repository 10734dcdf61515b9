"""Building batches, recording delivery, and the organizers' full export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.export import batch_key, batches, data_export, delivery
from petition.export.models import ExportBatch
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus
from petition.signing.models import SignatureStatus
from tests.export.conftest import Signatures, make_batch, read_csv, read_manifest

TRICKY = ["ليلى حداد", '=HYPERLINK("http://evil","x")', 'Jo "Quote", Smith', "😀 Emoji"]


def test_first_batch_holds_the_verified_signatures_and_is_signed(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(TRICKY, postcode="12345")
    path = make_batch(app, out_dir)

    assert path == out_dir / "defend-the-people-of-daraa-batch-1.zip"
    rows = read_csv(path, "signatures.csv")
    assert rows[0] == [
        "sequence",
        "name",
        "country",
        "postcode",
        "verified_at",
        "text_sha256",
        "receipt_id",
    ]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    receipt_ids = {r[6] for r in rows[1:]}
    assert len(receipt_ids) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", r) for r in receipt_ids)
    assert [r[1] for r in rows[1:]] == [
        "ليلى حداد",
        '\'=HYPERLINK("http://evil","x")',
        'Jo "Quote", Smith',
        "😀 Emoji",
    ]
    assert all(r[2] == "SY" and r[3] == "12345" and r[4].endswith("Z") for r in rows[1:])
    with zipfile.ZipFile(path) as zf:
        raw = zf.read("signatures.csv")
        assert b"@example.org" not in raw
        assert raw.count(b"\r\n") == 5
        text_sha = rows[1][5]
        text = zf.read(f"petition/{text_sha}.md")
        assert hashlib.sha256(text).hexdigest() == text_sha
        assert zf.read("delivery.pdf").startswith(b"%PDF-")
        manifest_bytes = zf.read("manifest.json")
        signature = zf.read("manifest.sig")

    key = batch_key.app_key(app)
    key.public_key().verify(signature, manifest_bytes)  # raises if not valid
    manifest = json.loads(manifest_bytes)
    assert manifest["format"] == "petition-export-batch"
    assert manifest["format_version"] == 2
    assert manifest["petition"]["slug"] == "defend-the-people-of-daraa"
    assert manifest["petition"]["addressed_to"] == "Decision-makers worldwide"
    assert manifest["batch"] | {"created_at": None} == {
        "sequence": 1,
        "created_at": None,
        "count": 4,
        "first_sequence": 1,
        "last_sequence": 4,
        "through_sequence": 4,
        "is_full_reexport": False,
        "withdrawn_count": 0,
    }
    assert manifest["previous_manifest_sha256"] is None
    assert manifest["signing_key"]["fingerprint_sha256"] == batch_key.fingerprint(key.public_key())
    paths = [f["path"] for f in manifest["files"]]
    assert paths == [
        "signatures.csv",
        "withdrawn.csv",
        f"petition/{text_sha}.md",
        "delivery.pdf",
        "SHA256SUMS",
    ]

    with app.app_context(), session_scope(write=False) as session:
        batch = session.scalars(sa.select(ExportBatch)).one()
        assert (batch.sequence, batch.first_sequence, batch.last_sequence) == (1, 1, 4)
        assert batch.signature_count == 4
        assert batch.created_by == "cli:test"
        assert batch.manifest_sha256 == hashlib.sha256(manifest_bytes).hexdigest()
        event = session.scalars(sa.select(AuditEvent)).one()
        assert (event.action, event.actor, event.affected) == ("export.batch", "cli:test", 4)
        assert event.details is not None
        assert event.details["batch"] == 1


def test_next_batch_holds_only_new_signatures_and_chains_to_the_last(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A", "B"])
    first = make_batch(app, out_dir)
    signatures.add(["C", "D", "E"])
    second = make_batch(app, out_dir)

    assert [r[1] for r in read_csv(second, "signatures.csv")[1:]] == ["C", "D", "E"]
    manifest = read_manifest(second)
    assert manifest["batch"]["sequence"] == 2  # type: ignore[index]
    assert (manifest["batch"]["first_sequence"], manifest["batch"]["last_sequence"]) == (3, 5)  # type: ignore[index]
    with zipfile.ZipFile(first) as zf:
        assert (
            manifest["previous_manifest_sha256"]
            == hashlib.sha256(zf.read("manifest.json")).hexdigest()
        )


def test_withdrawn_signatures_are_listed_once_by_number_and_never_delivered_again(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A", "B", "C"])
    make_batch(app, out_dir)
    signatures.add(["D", "E", "F"])
    # 2 was delivered in batch 1; 5 was never delivered; both go before batch 2.
    signatures.set_status([2], SignatureStatus.WITHDRAWN)
    signatures.set_status([5], SignatureStatus.INVALIDATED)
    second = make_batch(app, out_dir)

    assert [r[0] for r in read_csv(second, "signatures.csv")[1:]] == ["4", "6"]
    assert read_csv(second, "withdrawn.csv") == [["sequence"], ["2"]]
    assert read_manifest(second)["batch"]["withdrawn_count"] == 1  # type: ignore[index]

    signatures.set_status([4], SignatureStatus.WITHDRAWN)
    signatures.add(["G"])
    third = make_batch(app, out_dir)
    assert [r[1] for r in read_csv(third, "signatures.csv")[1:]] == ["G"]
    assert read_csv(third, "withdrawn.csv") == [["sequence"], ["4"]]

    # A batch with only a withdrawal to report is still made.
    signatures.set_status([1], SignatureStatus.WITHDRAWN)
    fourth = make_batch(app, out_dir)
    assert read_csv(fourth, "signatures.csv") == [read_csv(fourth, "signatures.csv")[0]]
    assert read_csv(fourth, "withdrawn.csv") == [["sequence"], ["1"]]
    assert read_manifest(fourth)["batch"]["count"] == 0  # type: ignore[index]


def test_signatures_not_counted_yet_or_held_stay_out(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Counted"])
    signatures.add(["Held by moderation"], held=True)
    signatures.add(["Verified a moment ago, not folded"], fold=False)
    path = make_batch(app, out_dir)
    assert [r[1] for r in read_csv(path, "signatures.csv")[1:]] == ["Counted"]


def test_full_reexport_repeats_every_standing_signature_and_says_so(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A", "B", "C"])
    make_batch(app, out_dir)
    signatures.set_status([2], SignatureStatus.WITHDRAWN)
    signatures.add(["D"])
    full = make_batch(app, out_dir, full=True)
    assert [r[1] for r in read_csv(full, "signatures.csv")[1:]] == ["A", "C", "D"]
    manifest = read_manifest(full)
    assert manifest["batch"]["is_full_reexport"] is True  # type: ignore[index]
    assert manifest["batch"]["sequence"] == 2  # type: ignore[index]
    assert read_csv(full, "withdrawn.csv") == [["sequence"], ["2"]]


def test_nothing_new_is_refused_and_writes_nothing(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    with pytest.raises(batches.NothingToExport, match="No verified signature"):
        make_batch(app, out_dir)
    signatures.add(["A"])
    make_batch(app, out_dir)
    with pytest.raises(batches.NothingToExport, match="since batch 1"):
        make_batch(app, out_dir)
    assert [p.name for p in out_dir.iterdir()] == ["defend-the-people-of-daraa-batch-1.zip"]
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExportBatch)) == 1


def test_an_existing_file_is_never_overwritten(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    (out_dir / "defend-the-people-of-daraa-batch-1.zip").write_bytes(b"keep me")
    with pytest.raises(batches.BatchFileExists):
        make_batch(app, out_dir)
    assert (out_dir / "defend-the-people-of-daraa-batch-1.zip").read_bytes() == b"keep me"


def test_a_large_batch_is_typeset_in_parts(
    app: Flask, signatures: Signatures, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petition.export import pdf

    # Parts of 3 names instead of thousands, to see the split on a small petition.
    monkeypatch.setattr(pdf, "NAMES_PER_PART", 3)
    signatures.add([f"Name {i}" for i in range(7)])
    path = make_batch(app, out_dir)
    manifest = read_manifest(path)
    pdfs = [f["path"] for f in manifest["files"] if f["path"].endswith(".pdf")]  # type: ignore[index,union-attr]
    assert pdfs == ["delivery.pdf", "delivery-002.pdf", "delivery-003.pdf"]


def test_mark_delivered_records_whom_and_then_the_petition_can_be_delivered(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    make_batch(app, out_dir)
    signatures.add(["B"])
    make_batch(app, out_dir)
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        # The status rules hold here as in /admin: only a closed petition is delivered.
        with pytest.raises(petitions.InvalidTransition, match="open cannot become delivered"):
            delivery.mark_petition_delivered(session, petition=petition, actor="cli:test")
        petitions.change_status(session, petition=petition, to=PetitionStatus.CLOSED)
        with pytest.raises(delivery.NotAllDelivered, match="Batches 1, 2 are not delivered yet"):
            delivery.mark_petition_delivered(session, petition=petition, actor="cli:test")
        batch = delivery.mark_delivered(
            session, petition=petition, sequence=1, to="  UN  Human Rights Office ", actor="cli:t"
        )
        assert batch.delivered_to == "UN Human Rights Office"
        assert batch.delivered_at is not None
        with pytest.raises(delivery.AlreadyDelivered):
            delivery.mark_delivered(session, petition=petition, sequence=1, to="x", actor="cli:t")
        with pytest.raises(batches.BatchNotFound):
            delivery.mark_delivered(session, petition=petition, sequence=9, to="x", actor="cli:t")
        with pytest.raises(delivery.InvalidRecipient):
            delivery.mark_delivered(session, petition=petition, sequence=2, to="  ", actor="cli:t")
        delivery.mark_delivered(
            session, petition=petition, sequence=2, to="Ministry", actor="cli:t"
        )
        delivery.mark_petition_delivered(session, petition=petition, actor="cli:t")
        assert petition.status == PetitionStatus.DELIVERED
        actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-3:] == ["export.deliver", "export.deliver", "petition.deliver"]


def test_petition_with_signatures_in_no_batch_cannot_be_delivered(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    make_batch(app, out_dir)
    signatures.add(["B"])
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        delivery.mark_delivered(session, petition=petition, sequence=1, to="UN", actor="cli:t")
        petitions.change_status(session, petition=petition, to=PetitionStatus.CLOSED)
        with pytest.raises(delivery.NotAllDelivered, match="1 verified signature is in no batch"):
            delivery.mark_petition_delivered(session, petition=petition, actor="cli:t")


def test_batches_are_listed_oldest_first(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    signatures.add(["A"])
    make_batch(app, out_dir)
    signatures.add(["B"])
    make_batch(app, out_dir)
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
        assert [b.sequence for b in batches.list_batches(session, petition=petition)] == [1, 2]


def test_full_data_export_has_email_and_consent_and_is_formula_safe(
    app: Flask, signatures: Signatures
) -> None:
    signatures.add(["=cmd|' /C calc'!A0", "ليلى حداد"])
    signatures.set_status([1], SignatureStatus.WITHDRAWN)
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        text = "".join(
            data_export.full_data_export(session, petition=petition, fmt="csv", actor="user:1")
        )
        data = json.loads(
            "".join(
                data_export.full_data_export(session, petition=petition, fmt="json", actor="u:1")
            )
        )
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["status"] for r in rows] == ["withdrawn", "verified"]
    assert rows[0]["name"] == ""
    assert rows[0]["email"] == ""
    assert rows[1]["name"] == "ليلى حداد"
    assert rows[1]["email"].endswith("@example.org")
    assert rows[1]["has_update_consent"] == "false"
    assert {"is_public", "has_update_consent", "source", "verified_at"} <= set(rows[0])
    assert data[1]["email"] == rows[1]["email"]
    assert data[1]["has_update_consent"] is False
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action == "export.full")
        ).all() == ["export.full", "export.full"]


def test_formula_in_the_full_export_becomes_text(app: Flask, signatures: Signatures) -> None:
    signatures.add(["=1+1"])
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        text = "".join(
            data_export.full_data_export(session, petition=petition, fmt="csv", actor="user:1")
        )
    assert next(iter(csv.DictReader(io.StringIO(text))))["name"] == "'=1+1"


def test_development_key_is_created_once_and_kept(app: Flask) -> None:
    settings = app.config["PETITION_SETTINGS"]
    first = batch_key.load_private_key(settings)
    second = batch_key.load_private_key(settings)
    assert batch_key.fingerprint(first.public_key()) == batch_key.fingerprint(second.public_key())
    assert (batch_key.key_path(settings).stat().st_mode & 0o777) == 0o600


def test_a_named_key_file_must_exist_and_be_ed25519(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from petition.config import Settings

    missing = Settings(instance_path=str(tmp_path), signing_key_file=str(tmp_path / "no.pem"))
    with pytest.raises(batch_key.SigningKeyError, match="does not exist"):
        batch_key.load_private_key(missing)
    other = tmp_path / "ec.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(batch_key.SigningKeyError, match="not an Ed25519"):
        batch_key.load_private_key(
            Settings(instance_path=str(tmp_path), signing_key_file=str(other))
        )
    good = tmp_path / "ed.pem"
    good.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert batch_key.load_private_key(
        Settings(instance_path=str(tmp_path), signing_key_file=str(good))
    )


def test_building_a_batch_does_not_hold_up_signers(
    app: Flask, signatures: Signatures, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petition.db import db
    from petition.export import pdf

    signatures.add(["A", "B"])
    written: list[bool] = []
    render = pdf.render_part

    def render_while_someone_signs(**kwargs: object) -> bytes:
        # Another connection writes while the export reads and typesets: on SQLite this
        # fails at once ("database is locked") if the export holds the write lock.
        engine = sa.create_engine(
            str(db.engine.url),
            connect_args={"timeout": 0.2} if db.engine.dialect.name == "sqlite" else {},
        )
        with engine.begin() as conn:
            conn.execute(sa.update(Petition).values(goal=1000))
        engine.dispose()
        written.append(True)
        return render(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pdf, "render_part", render_while_someone_signs)
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
    with app.app_context():
        built = batches.build_batch(
            db.engine, petition=petition, out_dir=out_dir, key=batch_key.app_key(app)
        )
        with session_scope() as session:
            batches.record_batch(session, petition=petition, built=built, actor="cli:t")
    assert written == [True]
    assert built.path.exists()


def test_two_exports_racing_for_a_number_record_one(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    from sqlalchemy.exc import IntegrityError

    from petition.db import db

    signatures.add(["A"])
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
    with app.app_context():
        key = batch_key.app_key(app)
        first = batches.build_batch(db.engine, petition=petition, out_dir=out_dir, key=key)
        second = batches.build_batch(
            db.engine, petition=petition, out_dir=tmp_path / "other", key=key
        )
        with session_scope() as session:
            batches.record_batch(session, petition=petition, built=first, actor="cli:a")
        with pytest.raises(IntegrityError), session_scope() as session:
            batches.record_batch(session, petition=petition, built=second, actor="cli:b")
    assert not second.path.exists()
    assert not second.tmp_path.exists()
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExportBatch)) == 1


def test_a_held_signature_released_later_goes_into_the_next_batch(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    from petition.signing.models import Signature

    signatures.add(["Counted"])
    signatures.add(["Held, then released"], held=True)
    make_batch(app, out_dir)
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Signature).values(is_held=False))
    signatures.fold()
    second = make_batch(app, out_dir)
    assert [r[:2] for r in read_csv(second, "signatures.csv")[1:]] == [["2", "Held, then released"]]


def test_a_signature_reinstated_after_a_batch_reported_it_gone_is_exported_anew(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    """Moderation undone around exports: the batches stay consistent and nothing crashes."""
    from petition.moderation import service as moderation

    signatures.add(["A", "B"])
    signatures.add(["C"], held=True)
    everything = moderation.Selection(petition_id=signatures.petition_id)

    def act(step: str, event_id: int | None = None) -> int:
        with app.app_context(), session_scope() as session:
            if step == "reinstate":
                assert event_id is not None
                moderation.reinstate(session, event_id=event_id, actor="user:1", reason="mistake")
            else:
                action = moderation.release if step == "release" else moderation.invalidate
                action(session, selection=everything, actor="user:1", reason="why")
            last = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
            assert last is not None
            return last.id

    released = act("release")
    signatures.fold()
    first = make_batch(app, out_dir)
    assert [r[1] for r in read_csv(first, "signatures.csv")[1:]] == ["A", "B", "C"]
    # Held again, then invalidated: the next batch reports number 3 gone.
    act("reinstate", released)
    signatures.fold()
    invalidated = act("invalidate")
    signatures.fold()
    second = make_batch(app, out_dir)
    assert read_csv(second, "withdrawn.csv") == [["sequence"], ["3"]]
    # Reinstated and released: C comes back under a new number, not as number 3.
    act("reinstate", invalidated)
    act("release")
    signatures.fold()
    third = make_batch(app, out_dir)
    assert [r[:2] for r in read_csv(third, "signatures.csv")[1:]] == [["4", "C"]]
    assert read_csv(third, "withdrawn.csv") == [["sequence"]]


def _open_files_named(part: str) -> list[str]:
    """The files this process holds open whose path contains ``part`` (Linux /proc)."""
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue  # closed while listed (the listing's own descriptor)
        if part in target:
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_an_export_failing_while_writing_rows_leaves_no_file_open_or_behind(
    app: Flask, signatures: Signatures, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petition.db import db
    from petition.export import pdf

    signatures.add(["A", "B"])

    def disk_full(self: pdf.DeliveryDocument, rows: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pdf.DeliveryDocument, "add_many", disk_full)
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
    with app.app_context(), pytest.raises(OSError, match="No space left") as failed:
        batches.build_batch(
            db.engine, petition=petition, out_dir=out_dir, key=batch_key.app_key(app)
        )
    # The traceback (kept in ``failed``) still holds the export's frames: the spool's
    # file must have been closed by the export itself, not by garbage collection.
    assert failed.traceback
    assert _open_files_named(".leaves") == []
    assert list(out_dir.iterdir()) == []
