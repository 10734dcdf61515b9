"""Signed delivery batches, their delivery records, and the organizers' full export.

Every function here flushes and never commits; the command or request calling it owns
the transaction (:func:`build_batch` only reads, on a connection of its own). Rows are streamed from the database and written straight into the
ZIP, so memory stays flat however many signatures a petition has.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.audit import service as audit
from petition.db import read_connection, utcnow
from petition.export import keys, pdf
from petition.export.models import ExportBatch, ExportRetraction
from petition.export.serializers import (
    BATCH_COLUMNS,
    FULL_COLUMNS,
    WITHDRAWN_COLUMNS,
    CsvLines,
    batch_row,
    full_row,
    iso_utc,
    json_array,
)
from petition.petitions.models import Petition, PetitionStatus, PetitionVersion
from petition.signing.counts import in_count
from petition.signing.models import Signature, SignatureStatus

if TYPE_CHECKING:
    # Imported by the key functions that use it (see petition.export.keys).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = "petition-export-batch"
MANIFEST_VERSION = 1
SIGNATURES_FILE = "signatures.csv"
WITHDRAWN_FILE = "withdrawn.csv"
CHECKSUMS_FILE = "SHA256SUMS"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
GONE = (SignatureStatus.WITHDRAWN, SignatureStatus.INVALIDATED)
_READ_CHUNK = 1 << 16
_YIELD_PER = 2000


class ExportError(Exception):
    """Base of the errors an organizer can act on; the message says what to do."""


class NothingToExport(ExportError):
    """No new signature and no new withdrawal since the last batch."""


class BatchFileExists(ExportError):
    """The batch's file is already in the output folder; nothing is overwritten."""


class BatchNotFound(ExportError):
    """The petition has no batch with that number."""


class AlreadyDelivered(ExportError):
    """The batch was already recorded as delivered."""


class NotAllDelivered(ExportError):
    """The petition cannot be marked delivered yet."""


class InvalidRecipient(ExportError):
    """Whom a batch went to must be said, in at most 300 characters."""


@dataclasses.dataclass(frozen=True)
class BatchResult:
    batch: ExportBatch
    path: Path


@dataclasses.dataclass
class _Entry:
    path: str
    sha256: str
    size: int


class _HashingWriter:
    """Writes into a ZIP member while hashing and counting the bytes written."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.hasher.update(data)
        self.size += len(data)
        self.out.write(data)


def _zip_info(name: str, created_at: dt.datetime, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=created_at.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _add_bytes(
    zf: zipfile.ZipFile, name: str, data: bytes, created_at: dt.datetime, *, compress: bool = True
) -> _Entry:
    zf.writestr(_zip_info(name, created_at, compress=compress), data)
    return _Entry(name, hashlib.sha256(data).hexdigest(), len(data))


def _add_file(zf: zipfile.ZipFile, name: str, source: Path, created_at: dt.datetime) -> _Entry:
    with zf.open(_zip_info(name, created_at, compress=False), "w") as out, source.open("rb") as f:
        writer = _HashingWriter(out)
        while chunk := f.read(_READ_CHUNK):
            writer.write(chunk)
    return _Entry(name, writer.hasher.hexdigest(), writer.size)


class _NameParts:
    """Name lines for the delivery PDF, spooled to a file while the rows stream by.

    Typesetting waits until every row has been read, so the database read ends as soon
    as it can and the row stream's allocations do not interleave on the heap with the
    typesetter's many short-lived objects.
    """

    def __init__(self, folder: Path, *, title: str, batch_sequence: int) -> None:
        self.folder = folder
        self.title = title
        self.batch_sequence = batch_sequence
        self.spool_path = folder / "names.txt"
        self.spool = self.spool_path.open("w", encoding="utf-8")
        self.first: list[str] = []
        self.written: list[Path] = []

    def add(self, line: str) -> None:
        self.spool.write(line + "\n")  # name_line() leaves no newline inside a line

    def finish(self) -> int:
        """Typesets every part but the first (kept for the cover); returns the count."""
        self.spool.close()
        with self.spool_path.open(encoding="utf-8") as spool:
            chunk: list[str] = []
            for line in spool:
                chunk.append(line.rstrip("\n"))
                if len(chunk) == pdf.NAMES_PER_PART:
                    self._part(chunk)
                    chunk = []
            if chunk:
                self._part(chunk)
        self.spool_path.unlink()
        return max(1, 1 + len(self.written))

    def _part(self, lines: list[str]) -> None:
        if not self.first and not self.written:
            self.first = lines
            return
        number = len(self.written) + 2
        path = self.folder / pdf.part_name(number)
        path.write_bytes(
            pdf.render_part(
                number=number,
                lines=lines,
                cover=None,
                title=self.title,
                batch_sequence=self.batch_sequence,
            )
        )
        self.written.append(path)


def _version_hashes(conn: Session | sa.Connection, petition: Petition) -> dict[int, str]:
    rows = conn.execute(
        sa.select(PetitionVersion.id, PetitionVersion.sha256).where(
            PetitionVersion.petition_id == petition.id
        )
    )
    return {row.id: row.sha256 for row in rows}


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


def _counted(petition: Petition) -> list[sa.ColumnElement[bool]]:
    # What the count holds (petition.signing.counts.in_count): held or flagged ones
    # (moderation) and ones verified a moment ago without a sequence stay out.
    return [*in_count(petition.id), Signature.sequence.is_not(None)]


def unexported_count(session: Session, *, petition: Petition) -> int:
    """Counted signatures that no batch has covered yet."""
    previous = latest_batch(session, petition=petition)
    after = previous.through_sequence if previous else 0
    return (
        session.scalar(
            sa.select(sa.func.count()).where(*_counted(petition), Signature.sequence > after)
        )
        or 0
    )


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


@dataclasses.dataclass
class BuiltBatch:
    """A batch written to a temporary file, not yet recorded (see :func:`record_batch`)."""

    petition_id: int
    sequence: int
    is_full_reexport: bool
    first_sequence: int | None
    last_sequence: int | None
    through_sequence: int
    count: int
    withdrawn: list[int]
    already_gone: list[int]
    manifest_sha256: str
    previous_manifest_sha256: str | None
    key_fingerprint: str
    created_at: dt.datetime
    tmp_path: Path
    path: Path

    def discard(self) -> None:
        self.tmp_path.unlink(missing_ok=True)


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
            raise BatchFileExists(f"{final_path} exists already; move it away to export again")
        withdrawn, already_gone = _gone_sequences(
            conn, petition_id=petition.id, previous_through=previous_through, through=through
        )
        new_rows = conn.scalar(
            sa.select(sa.func.count()).where(
                *_counted(petition), Signature.sequence > after, Signature.sequence <= through
            )
        )
        if not new_rows and not withdrawn:
            raise NothingToExport(
                f"{petition.slug}: no signature or withdrawal since batch {previous.sequence}"
                if previous
                else f"{petition.slug}: no verified signature to export yet"
            )
        fingerprint = keys.fingerprint(key.public_key())
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
                entries = _write_batch_files(
                    conn, zf, petition=petition, built=built, after=after, work=Path(work)
                )
                manifest_bytes = manifest_dump(
                    _manifest(petition=petition, built=built, entries=entries)
                )
                _add_bytes(zf, MANIFEST_FILE, manifest_bytes, created_at)
                _add_bytes(zf, SIGNATURE_FILE, key.sign(manifest_bytes), created_at, compress=False)
        except BaseException:
            built.discard()
            raise
    built.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
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
            raise BatchFileExists(f"{built.path} exists already; move it away to export again")
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
        )
        session.add(batch)
        session.flush()
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


def _write_batch_files(
    conn: sa.Connection,
    zf: zipfile.ZipFile,
    *,
    petition: Petition,
    built: BuiltBatch,
    after: int,
    work: Path,
) -> list[_Entry]:
    created_at = built.created_at
    version_sha = _version_hashes(conn, petition)
    used_versions: set[int] = set()
    parts = _NameParts(work, title=petition.title, batch_sequence=built.sequence)
    entries: list[_Entry] = []

    rows = conn.execute(
        sa.select(
            Signature.sequence,
            Signature.name,
            Signature.country,
            Signature.postcode,
            Signature.verified_at,
            Signature.version_id,
        )
        .where(
            *_counted(petition),
            Signature.sequence > after,
            Signature.sequence <= built.through_sequence,
        )
        .order_by(Signature.sequence)
        .execution_options(yield_per=_YIELD_PER)
    )

    def delivered_rows() -> Iterator[dict[str, object]]:
        for row in rows:
            built.count += 1
            if built.first_sequence is None:
                built.first_sequence = row.sequence
            built.last_sequence = row.sequence
            used_versions.add(row.version_id)
            parts.add(pdf.name_line(row.sequence, row.name or "", row.country))
            yield batch_row(
                sequence=row.sequence,
                name=row.name,
                country=row.country,
                postcode=row.postcode,
                verified_at=row.verified_at,
                text_sha256=version_sha[row.version_id],
            )

    lines = CsvLines(BATCH_COLUMNS)
    with zf.open(_zip_info(SIGNATURES_FILE, created_at, compress=True), "w") as out:
        writer = _HashingWriter(out)
        writer.write(lines.header().encode())
        for chunk in lines.rows(delivered_rows()):
            writer.write(chunk.encode())
    signatures_sha256 = writer.hasher.hexdigest()
    entries.append(_Entry(SIGNATURES_FILE, signatures_sha256, writer.size))

    withdrawn = CsvLines(WITHDRAWN_COLUMNS)
    text = withdrawn.header() + "".join(withdrawn.rows({"sequence": n} for n in built.withdrawn))
    entries.append(_add_bytes(zf, WITHDRAWN_FILE, text.encode(), created_at))

    versions = conn.execute(
        sa.select(PetitionVersion.sha256, PetitionVersion.body_markdown, PetitionVersion.body_html)
        .where(PetitionVersion.id.in_(used_versions or {-1}))
        .order_by(PetitionVersion.number)
    ).all()
    for version in versions:
        entries.append(
            _add_bytes(
                zf,
                f"petition/{version.sha256}.md",
                version.body_markdown.encode("utf-8"),
                created_at,
            )
        )

    total_parts = parts.finish()
    cover = pdf.Cover(
        title=petition.title,
        addressed_to=petition.addressed_to,
        language=petition.language,
        batch_sequence=built.sequence,
        count=built.count,
        first_sequence=built.first_sequence,
        last_sequence=built.last_sequence,
        is_full_reexport=built.is_full_reexport,
        created_at=iso_utc(created_at),
        signatures_sha256=signatures_sha256,
        key_fingerprint=built.key_fingerprint,
        withdrawn_count=len(built.withdrawn),
        parts=total_parts,
        versions=[pdf.VersionText(v.sha256, v.body_html) for v in versions],
    )
    first_part = pdf.render_part(
        number=1,
        lines=parts.first,
        cover=cover,
        title=petition.title,
        batch_sequence=built.sequence,
    )
    entries.append(_add_bytes(zf, pdf.part_name(1), first_part, created_at, compress=False))
    del first_part
    for number, path in enumerate(parts.written, start=2):
        entries.append(_add_file(zf, pdf.part_name(number), path, created_at))
        path.unlink()

    checksums = "".join(f"{e.sha256}  {e.path}\n" for e in entries).encode()
    entries.append(_add_bytes(zf, CHECKSUMS_FILE, checksums, created_at))
    return entries


def _manifest(*, petition: Petition, built: BuiltBatch, entries: list[_Entry]) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "petition": {
            "slug": petition.slug,
            "title": petition.title,
            "addressed_to": petition.addressed_to,
            "language": petition.language,
        },
        "batch": {
            "sequence": built.sequence,
            "created_at": iso_utc(built.created_at),
            "count": built.count,
            "first_sequence": built.first_sequence,
            "last_sequence": built.last_sequence,
            "through_sequence": built.through_sequence,
            "is_full_reexport": built.is_full_reexport,
            "withdrawn_count": len(built.withdrawn),
        },
        "files": [{"path": e.path, "sha256": e.sha256, "size": e.size} for e in entries],
        "previous_manifest_sha256": built.previous_manifest_sha256,
        "signing_key": {"algorithm": "Ed25519", "fingerprint_sha256": built.key_fingerprint},
    }


def manifest_dump(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes: indented and key-sorted so a person can read and diff it."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def get_batch(session: Session, *, petition: Petition, sequence: int) -> ExportBatch:
    """Raises :class:`BatchNotFound`."""
    batch = session.scalars(
        sa.select(ExportBatch).where(
            ExportBatch.petition_id == petition.id, ExportBatch.sequence == sequence
        )
    ).one_or_none()
    if batch is None:
        raise BatchNotFound(f"{petition.slug} has no batch {sequence}")
    return batch


def mark_delivered(
    session: Session, *, petition: Petition, sequence: int, to: str, actor: str
) -> ExportBatch:
    """Record that batch ``sequence`` was handed to ``to`` now.

    Raises :class:`BatchNotFound`, :class:`AlreadyDelivered`, :class:`InvalidRecipient`.
    """
    recipient = " ".join(to.split())
    if not recipient or len(recipient) > 300:
        raise InvalidRecipient("say whom the batch was delivered to (at most 300 characters)")
    batch = get_batch(session, petition=petition, sequence=sequence)
    if batch.delivered_at is not None:
        raise AlreadyDelivered(
            f"{petition.slug} batch {sequence} was delivered to {batch.delivered_to} "
            f"on {iso_utc(batch.delivered_at)}"
        )
    batch.delivered_to = recipient
    batch.delivered_by = actor
    batch.delivered_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="export.deliver",
        petition_id=petition.id,
        affected=batch.signature_count,
        details={"batch": sequence, "to": recipient},
    )
    return batch


def mark_petition_delivered(session: Session, *, petition: Petition, actor: str) -> Petition:
    """Move the petition to ``delivered`` once every batch is delivered.

    Raises :class:`NotAllDelivered` if there is no batch, a batch is not delivered,
    or counted signatures are not in any batch yet.
    """
    batches = list_batches(session, petition=petition)
    if not batches:
        raise NotAllDelivered(f"{petition.slug} has no batch yet")
    pending = [b.sequence for b in batches if b.delivered_at is None]
    if pending:
        raise NotAllDelivered(
            f"{petition.slug}: batch {', '.join(map(str, pending))} not delivered yet"
        )
    left = unexported_count(session, petition=petition)
    if left:
        raise NotAllDelivered(f"{petition.slug}: {left} signatures are in no batch yet")
    petition.status = PetitionStatus.DELIVERED
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="petition.deliver",
        petition_id=petition.id,
        details={"batches": len(batches)},
    )
    return petition


DataFormat = Literal["csv", "json"]


def full_data_export(
    session: Session, *, petition: Petition, fmt: DataFormat, actor: str
) -> Iterator[str]:
    """Every signature of the petition with email and consent, for its organizers.

    Not a delivery batch: nothing is signed or recorded as a batch. The export is
    recorded in the audit log now; the text is produced as it is read, so the caller
    can stream it to a file or a response with flat memory.
    """
    audit.record(
        session,
        actor=actor,
        action="export.full",
        petition_id=petition.id,
        affected=petition.signature_count,
        details={"format": fmt},
    )
    version_sha = _version_hashes(session, petition)
    query = (
        sa.select(
            Signature.sequence,
            Signature.status,
            Signature.name,
            Signature.email,
            Signature.country,
            Signature.postcode,
            Signature.is_public,
            Signature.has_update_consent,
            Signature.source,
            Signature.source_origin,
            Signature.created_at,
            Signature.verified_at,
            Signature.withdrawn_at,
            Signature.version_id,
        )
        .where(Signature.petition_id == petition.id)
        .order_by(Signature.id)
        .execution_options(yield_per=_YIELD_PER)
    )

    def items() -> Iterator[dict[str, object]]:
        for row in session.execute(query):
            yield full_row(row, version_sha.get(row.version_id, ""))

    if fmt == "json":
        return json_array(items())
    lines = CsvLines(FULL_COLUMNS)

    def csv_text() -> Iterator[str]:
        yield lines.header()
        yield from lines.rows(items())

    return csv_text()
