"""Signed delivery batches: building, recording and listing them.

A batch holds every counted signature not in an earlier batch (all of them for a full
re-export) and lists by number the earlier ones withdrawn or invalidated since. Rows
are streamed from the database and written straight into the ZIP, so memory stays
flat however many signatures a petition has. Functions flush and never commit; the
command or request calling them owns the transaction (:func:`build_batch` only
reads, on a connection of its own).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tempfile
import uuid
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.audit import service as audit
from petition.db import read_connection, utcnow
from petition.export import batch_key, leaves
from petition.export.batch_format import MANIFEST_FILE, SIGNATURE_FILE
from petition.export.models import (
    ExportBatch,
    ExportBatchLeaves,
    ExportBatchProof,
    ExportRetraction,
)
from petition.export.zipfiles import (
    BuiltBatch,
    add_bytes,
    counted,
    manifest,
    manifest_dump,
    write_members,
)
from petition.i18n import N_, ServiceError
from petition.petitions.models import Petition
from petition.signing.models import Signature, SignatureStatus

if TYPE_CHECKING:
    # Imported by the key functions that use it (see petition.export.batch_key).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

logger = logging.getLogger(__name__)

GONE = (SignatureStatus.WITHDRAWN, SignatureStatus.INVALIDATED)


class ExportError(ServiceError):
    """Base of the errors an organizer can act on; the message says what to do."""


class NothingToExport(ExportError):
    """No new signature and no new withdrawal since the last batch."""

    messages: ClassVar[Mapping[str, str]] = {
        "nothing-since-batch": N_(
            "Nothing new since batch %(batch)s: no signature confirmed or withdrawn since."
        ),
        "no-signature-yet": N_("No verified signature to export yet."),
    }


class BatchFileExists(ExportError):
    """The batch's file is already in the output folder; nothing is overwritten."""

    messages: ClassVar[Mapping[str, str]] = {
        "batch-file-exists": N_("%(path)s exists already; move it away to export again.")
    }


class BatchNotFound(ExportError):
    """The petition has no batch with that number."""

    messages: ClassVar[Mapping[str, str]] = {
        "no-such-batch": N_("%(slug)s has no batch %(batch)s.")
    }


@dataclasses.dataclass(frozen=True)
class BatchResult:
    batch: ExportBatch
    path: Path


def latest_batch(session: Session, *, petition: Petition) -> ExportBatch | None:
    return session.scalars(
        sa.select(ExportBatch)
        .where(ExportBatch.petition_id == petition.id)
        .order_by(ExportBatch.sequence.desc())
        .limit(1)
    ).first()


def list_batches(session: Session, *, petition: Petition) -> list[ExportBatch]:
    """The petition's batches, oldest first."""
    return list(
        session.scalars(
            sa.select(ExportBatch)
            .where(ExportBatch.petition_id == petition.id)
            .order_by(ExportBatch.sequence)
        )
    )


def unexported_count(session: Session, *, petition: Petition) -> int:
    """Counted signatures that no batch has covered yet."""
    previous = latest_batch(session, petition=petition)
    after = previous.through_sequence if previous else 0
    return (
        session.scalar(
            sa.select(sa.func.count()).where(*counted(petition), Signature.sequence > after)
        )
        or 0
    )


def unreported_withdrawals(session: Session, *, petition: Petition) -> int:
    """Signatures of earlier batches withdrawn or invalidated since, that no batch has
    reported yet: news for the next batch even when no one new signed."""
    previous = latest_batch(session, petition=petition)
    if previous is None:
        return 0
    reported = sa.exists().where(
        ExportRetraction.petition_id == petition.id,
        ExportRetraction.sequence == Signature.sequence,
    )
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Signature.petition_id == petition.id,
                Signature.sequence <= previous.through_sequence,
                Signature.status.in_(GONE),
                ~reported,
            )
        )
        or 0
    )


def nothing_to_export(session: Session, *, petition: Petition) -> NothingToExport | None:
    """Why a batch would hold nothing now (what :func:`build_batch` would raise), or
    ``None`` when there is something to deliver."""
    if unexported_count(session, petition=petition) or unreported_withdrawals(
        session, petition=petition
    ):
        return None
    previous = latest_batch(session, petition=petition)
    if previous is None:
        return NothingToExport("no-signature-yet")
    return NothingToExport("nothing-since-batch", batch=previous.sequence)


def _gone_sequences(
    conn: sa.Connection, *, petition_id: int, previous_through: int, through: int
) -> tuple[list[int], list[int]]:
    """Withdrawn or invalidated signatures a new batch must account for.

    Listed: signatures of earlier batches (numbers up to ``previous_through``) gone since
    and not reported yet. Unlisted: signatures of the new range that were already gone,
    recorded so that no later batch reports them as news.
    """
    already = sa.exists().where(
        ExportRetraction.petition_id == petition_id,
        ExportRetraction.sequence == Signature.sequence,
    )
    found = conn.execute(
        sa.select(Signature.sequence)
        .where(
            Signature.petition_id == petition_id,
            Signature.sequence.is_not(None),
            Signature.sequence <= through,
            Signature.status.in_(GONE),
            ~already,
        )
        .order_by(Signature.sequence)
    ).scalars()
    listed: list[int] = []
    unlisted: list[int] = []
    for sequence in found:
        if sequence is not None:
            (listed if sequence <= previous_through else unlisted).append(sequence)
    return listed, unlisted


def build_batch(
    bind: sa.Engine,
    *,
    petition: Petition,
    out_dir: Path,
    key: Ed25519PrivateKey,
    is_full_reexport: bool = False,
) -> BuiltBatch:
    """Write the petition's next batch to a temporary file in ``out_dir``; record nothing.

    All reading happens on a connection of its own that never takes a write lock, so a
    long export (typesetting a large PDF takes minutes) never holds up signers. The
    caller then records the batch with :func:`record_batch` in a short transaction.

    Raises :class:`NothingToExport` or :class:`BatchFileExists`.
    """
    created_at = utcnow().replace(microsecond=0)
    with read_connection(bind) as conn:
        previous = conn.execute(
            sa.select(
                ExportBatch.sequence, ExportBatch.through_sequence, ExportBatch.manifest_sha256
            )
            .where(ExportBatch.petition_id == petition.id)
            .order_by(ExportBatch.sequence.desc())
            .limit(1)
        ).first()
        number = previous.sequence + 1 if previous else 1
        previous_through = previous.through_sequence if previous else 0
        through = conn.scalar(sa.select(Petition.last_sequence).where(Petition.id == petition.id))
        through = max(through or 0, previous_through)
        after = 0 if is_full_reexport else previous_through
        final_path = out_dir / f"{petition.slug}-batch-{number}.zip"
        if final_path.exists():
            raise BatchFileExists("batch-file-exists", path=str(final_path))
        withdrawn, already_gone = _gone_sequences(
            conn, petition_id=petition.id, previous_through=previous_through, through=through
        )
        new_rows = conn.scalar(
            sa.select(sa.func.count()).where(
                *counted(petition), Signature.sequence > after, Signature.sequence <= through
            )
        )
        if not new_rows and not withdrawn:
            if previous:
                raise NothingToExport("nothing-since-batch", batch=previous.sequence)
            raise NothingToExport("no-signature-yet")
        fingerprint = batch_key.fingerprint(key.public_key())
        built = BuiltBatch(
            petition_id=petition.id,
            sequence=number,
            is_full_reexport=is_full_reexport,
            first_sequence=None,
            last_sequence=None,
            through_sequence=through,
            count=0,
            withdrawn=withdrawn,
            already_gone=already_gone,
            manifest_sha256="",
            previous_manifest_sha256=previous.manifest_sha256 if previous else None,
            key_fingerprint=fingerprint,
            created_at=created_at,
            tmp_path=out_dir / f".{final_path.name}.{uuid.uuid4().hex}.tmp",
            path=final_path,
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            with (
                tempfile.TemporaryDirectory(prefix="petition-export-") as work,
                zipfile.ZipFile(built.tmp_path, "w") as zf,
            ):
                entries = write_members(
                    conn, zf, petition=petition, built=built, after=after, work=Path(work)
                )
                manifest_bytes = manifest_dump(
                    manifest(petition=petition, built=built, entries=entries)
                )
                signature = key.sign(manifest_bytes)
                add_bytes(zf, MANIFEST_FILE, manifest_bytes, created_at)
                add_bytes(zf, SIGNATURE_FILE, signature, created_at, compress=False)
        except BaseException:
            built.discard()
            raise
    built.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    built.manifest_bytes, built.manifest_sig = manifest_bytes, signature
    return built


def record_batch(
    session: Session, *, petition: Petition, built: BuiltBatch, actor: str
) -> ExportBatch:
    """Record a built batch, with its withdrawals and an audit event, and move its file
    into place. The file is discarded if recording fails.

    Raises :class:`BatchFileExists`, or IntegrityError when another export of the
    petition took the same number meanwhile.
    """
    try:
        if built.path.exists():
            raise BatchFileExists("batch-file-exists", path=str(built.path))
        batch = ExportBatch(
            petition_id=petition.id,
            sequence=built.sequence,
            is_full_reexport=built.is_full_reexport,
            first_sequence=built.first_sequence,
            last_sequence=built.last_sequence,
            through_sequence=built.through_sequence,
            signature_count=built.count,
            withdrawn_count=len(built.withdrawn),
            manifest_sha256=built.manifest_sha256,
            previous_manifest_sha256=built.previous_manifest_sha256,
            key_fingerprint=built.key_fingerprint,
            filename=built.path.name,
            created_by=actor,
            created_at=built.created_at,
            merkle_root=built.merkle_root,
        )
        session.add(batch)
        session.flush()
        session.add(
            ExportBatchProof(
                batch_id=batch.id,
                manifest_json=built.manifest_bytes,
                manifest_sig=built.manifest_sig,
            )
        )
        _store_leaves(session, batch_id=batch.id, built=built)
        retractions = [
            {"petition_id": petition.id, "batch_id": batch.id, "sequence": n, "is_listed": True}
            for n in built.withdrawn
        ] + [
            {"petition_id": petition.id, "batch_id": batch.id, "sequence": n, "is_listed": False}
            for n in built.already_gone
        ]
        if retractions:
            session.execute(sa.insert(ExportRetraction), retractions)
        audit.record(
            session,
            actor=actor,
            action="export.batch",
            petition_id=petition.id,
            affected=built.count,
            details={
                "batch": built.sequence,
                "first_sequence": built.first_sequence,
                "last_sequence": built.last_sequence,
                "withdrawn": len(built.withdrawn),
                "is_full_reexport": built.is_full_reexport,
                "manifest_sha256": built.manifest_sha256,
            },
        )
        os.replace(built.tmp_path, built.path)
    finally:
        built.discard()
    logger.info(
        "petition %s batch %d: %d signatures, %d withdrawn, %s",
        petition.slug,
        built.sequence,
        built.count,
        len(built.withdrawn),
        built.path,
    )
    return batch


def _store_leaves(session: Session, *, batch_id: int, built: BuiltBatch) -> None:
    """The spooled leaf hashes into ``export_batch_leaves``, a few blocks per insert."""
    rows: list[dict[str, object]] = []
    for block in leaves.read_blocks(built.leaves_path):
        rows.append(
            {
                "batch_id": batch_id,
                "block": block.number,
                "first_sequence": block.first_sequence,
                "last_sequence": block.last_sequence,
                "root": block.root,
                "sequences": block.sequences,
                "leaf_hashes": block.leaf_hashes,
            }
        )
        if len(rows) == 16:
            session.execute(sa.insert(ExportBatchLeaves), rows)
            rows = []
    if rows:
        session.execute(sa.insert(ExportBatchLeaves), rows)


def make_batch(
    session: Session,
    *,
    petition: Petition,
    out_dir: Path,
    key: Ed25519PrivateKey,
    actor: str,
    is_full_reexport: bool = False,
) -> BatchResult:
    """Write the petition's next signed batch to ``out_dir`` and record it.

    The batch holds every counted signature not in an earlier batch (all of them for a
    full re-export) and lists by number the earlier ones withdrawn or invalidated since.
    :func:`build_batch` then :func:`record_batch`; callers on SQLite that must not hold
    the write lock while a large batch is typeset call the two themselves, the
    recording in a transaction of its own (as ``flask petition export`` does).

    Raises :class:`NothingToExport`, :class:`BatchFileExists`, or IntegrityError when
    another export of the same petition took the number first.
    """
    built = build_batch(
        session.get_bind(),  # type: ignore[arg-type]
        petition=petition,
        out_dir=out_dir,
        key=key,
        is_full_reexport=is_full_reexport,
    )
    batch = record_batch(session, petition=petition, built=built, actor=actor)
    return BatchResult(batch, built.path)


def get_batch(session: Session, *, petition: Petition, sequence: int) -> ExportBatch:
    """Raises :class:`BatchNotFound`."""
    batch = session.scalars(
        sa.select(ExportBatch).where(
            ExportBatch.petition_id == petition.id, ExportBatch.sequence == sequence
        )
    ).one_or_none()
    if batch is None:
        raise BatchNotFound("no-such-batch", slug=petition.slug, batch=sequence)
    return batch
