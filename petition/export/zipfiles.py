"""The batch ZIP: its manifest, and its members written from the rows.

The rows are streamed into ``signatures.csv`` through a hashing writer (nothing holds
the list) while their names go to the delivery PDF (its parts set as they fill); then
come the texts signed, the PDF parts, ``SHA256SUMS`` and the manifest. The member names
(:mod:`petition.export.batch_format`) are shared with the verifier. :mod:`petition.export.batches`
numbers, builds and records batches with these.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import IO, Any, cast

import sqlalchemy as sa

from petition.export import leaves, merkle
from petition.export.batch_format import (
    CHECKSUMS_FILE,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    SIGNATURES_FILE,
    WITHDRAWN_FILE,
)
from petition.export.serializers import (
    BATCH_COLUMNS,
    WITHDRAWN_COLUMNS,
    CsvLines,
    batch_records,
    iso_utc,
)
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionVersion
from petition.signing.counts import in_count
from petition.signing.models import Signature

_READ_CHUNK = 1 << 16
# Rows fetched at a time from a streamed read (a server-side cursor on PostgreSQL).
YIELD_PER = 2000


@dataclasses.dataclass
class Entry:
    """A member written to the ZIP, as the manifest lists it."""

    path: str
    sha256: str
    size: int


class HashingWriter:
    """Writes into a ZIP member while hashing and counting the bytes written."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.hasher.update(data)
        self.size += len(data)
        self.out.write(data)


# zlib's level for the compressed members. Measured here on 30 MB of a batch's CSV (CPU
# seconds, compressed size): level 1 0.26 s, 23.2 %; 3 0.28 s, 22.3 %; 4 0.41 s, 20.2 %;
# 6 (the default) 0.67 s, 20.5 %. Level 3 saves 2 s of CPU at a million rows and costs
# 3 MB. The PDF parts are stored: their streams are compressed already.
COMPRESS_LEVEL = 3


def zip_info(name: str, created_at: dt.datetime, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=created_at.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    # ZipFile.open(info, "w") takes the level from the ZipInfo (public as compress_level
    # from Python 3.13 on; this attribute is kept as its alias there).
    info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
    info.external_attr = 0o644 << 16
    return info


def add_bytes(
    zf: zipfile.ZipFile, name: str, data: bytes, created_at: dt.datetime, *, compress: bool = True
) -> Entry:
    zf.writestr(zip_info(name, created_at, compress=compress), data)
    return Entry(name, hashlib.sha256(data).hexdigest(), len(data))


def add_file(zf: zipfile.ZipFile, name: str, source: Path, created_at: dt.datetime) -> Entry:
    with zf.open(zip_info(name, created_at, compress=False), "w") as out, source.open("rb") as f:
        writer = HashingWriter(out)
        while chunk := f.read(_READ_CHUNK):
            writer.write(chunk)
    return Entry(name, writer.hasher.hexdigest(), writer.size)


def iso_utc_text(column: sa.ColumnExpressionArgument[Any], dialect: str) -> sa.ColumnElement[str]:
    """``column`` as :func:`iso_utc` writes it (``2026-11-26T01:45:26Z``), by the database.

    A datetime per row, its time zone and its formatting were a tenth of the export's own
    time at a million rows. SQLite stores UTC text (``petition.db.UTCDateTime``); the
    seconds are truncated as ``iso_utc`` truncates them.
    """
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m-%dT%H:%M:%SZ", column, type_=sa.String)
    return sa.func.to_char(
        sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"', type_=sa.String
    )


def manifest_dump(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes: indented and key-sorted so a person can read and diff it."""
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def counted(petition: Petition) -> list[sa.ColumnElement[bool]]:
    # What the count holds (petition.signing.counts.in_count): held or flagged ones
    # (moderation) and ones verified a moment ago without a sequence stay out.
    return [*in_count(petition.id), Signature.sequence.is_not(None)]


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
    # The root of the RFC 6962 tree over the rows of signatures.csv, in hex.
    merkle_root: str = ""
    # The exact bytes of the signed manifest and its signature, kept for receipts.
    manifest_bytes: bytes = b""
    manifest_sig: bytes = b""

    @property
    def leaves_path(self) -> Path:
        """The spool of the rows' leaf hashes (:mod:`petition.export.leaves`)."""
        return self.tmp_path.with_name(self.tmp_path.name + ".leaves")

    def discard(self) -> None:
        self.tmp_path.unlink(missing_ok=True)
        self.leaves_path.unlink(missing_ok=True)


def write_members(
    conn: sa.Connection,
    zf: zipfile.ZipFile,
    *,
    petition: Petition,
    built: BuiltBatch,
    after: int,
    work: Path,
) -> list[Entry]:
    """Write every member but the manifest and its signature; returns them, hashed.

    ``built`` gets its count and first and last numbers as the rows stream by.
    """
    # Here, not at the top: the PDF parts (their process pool, multiprocessing, the name
    # pages) are 0.6 MB that a web worker, which imports this module for the batch
    # pages, only needs when it builds a batch (tests/test_imports.py).
    from petition.export import pdf

    created_at = built.created_at
    version_sha = petitions.version_hashes(conn, petition_id=petition.id)
    used_versions: set[int] = set()
    document = pdf.DeliveryDocument(work, title=petition.title, batch_sequence=built.sequence)
    entries: list[Entry] = []

    rows = conn.execute(
        sa.select(
            Signature.sequence,
            Signature.name,
            Signature.country,
            Signature.postcode,
            iso_utc_text(Signature.verified_at, conn.dialect.name),
            Signature.version_id,
            Signature.receipt_id,
        )
        .where(
            *counted(petition),
            Signature.sequence > after,
            Signature.sequence <= built.through_sequence,
        )
        .order_by(Signature.sequence)
        .execution_options(yield_per=YIELD_PER)
    )
    lines = CsvLines(BATCH_COLUMNS)
    # A few thousand rows at a time, as tuples: the CSV's bytes, the Merkle leaves (each
    # row's exact bytes without its CRLF, the RFC 4180 terminator) and the PDF's names.
    # Each closed however the block ends: an export failing mid-way leaves no open file
    # and no open server-side cursor (PostgreSQL) to the garbage collector.
    with (
        rows,
        leaves.LeafSpool(built.leaves_path) as spool,
        zf.open(zip_info(SIGNATURES_FILE, created_at, compress=True), "w") as out,
    ):
        writer = HashingWriter(out)
        writer.write(lines.header().encode())
        for partition in rows.partitions():
            data, leaf_lines = lines.records(batch_records(partition, version_sha))
            writer.write(data)
            # Never None: the query asks for sequence > after.
            sequences = cast(list[int], [row[0] for row in partition])
            spool.add_many(sequences, leaf_lines)
            document.add_many(
                zip(
                    sequences,
                    [row[1] for row in partition],
                    [row[2] for row in partition],
                    strict=True,
                )
            )
            used_versions.update([row[5] for row in partition])
            if built.first_sequence is None:
                built.first_sequence = sequences[0]
            built.last_sequence = sequences[-1]
            built.count += len(sequences)
    signatures_sha256 = writer.hasher.hexdigest()
    built.merkle_root = spool.tree.root().hex()
    entries.append(Entry(SIGNATURES_FILE, signatures_sha256, writer.size))

    withdrawn = CsvLines(WITHDRAWN_COLUMNS)
    text = withdrawn.header() + "".join(withdrawn.rows({"sequence": n} for n in built.withdrawn))
    entries.append(add_bytes(zf, WITHDRAWN_FILE, text.encode(), created_at))

    versions = conn.execute(
        sa.select(PetitionVersion.sha256, PetitionVersion.body_markdown, PetitionVersion.body_html)
        .where(PetitionVersion.id.in_(used_versions or {-1}))
        .order_by(PetitionVersion.number)
    ).all()
    for version in versions:
        entries.append(
            add_bytes(
                zf,
                f"petition/{version.sha256}.md",
                version.body_markdown.encode("utf-8"),
                created_at,
            )
        )

    total_parts = document.typeset()
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
    for name, content in document.parts(cover):
        if isinstance(content, bytes):
            entries.append(add_bytes(zf, name, content, created_at, compress=False))
        else:
            entries.append(add_file(zf, name, content, created_at))

    checksums = "".join(f"{e.sha256}  {e.path}\n" for e in entries).encode()
    entries.append(add_bytes(zf, CHECKSUMS_FILE, checksums, created_at))
    return entries


def manifest(*, petition: Petition, built: BuiltBatch, entries: list[Entry]) -> dict[str, Any]:
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
        "merkle": {
            "algorithm": merkle.ALGORITHM,
            "tree_size": built.count,
            "root": built.merkle_root,
        },
        "previous_manifest_sha256": built.previous_manifest_sha256,
        "signing_key": {"algorithm": "Ed25519", "fingerprint_sha256": built.key_fingerprint},
    }
