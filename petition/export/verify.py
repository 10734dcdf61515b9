"""Check a batch ZIP the way a recipient would: signature, files, rows and chain.

Nothing here trusts the ZIP: the public key comes from the caller, every file is
hashed while it is read (in chunks, so a batch of millions checks in flat memory),
and every problem found is named rather than stopping at the first.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import operator
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from petition.export import batch_key, merkle
from petition.export.batch_format import (
    CHECKSUMS_FILE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    SIGNATURE_FILE,
    SIGNATURES_FILE,
    WITHDRAWN_FILE,
)
from petition.export.serializers import BATCH_COLUMNS, BATCH_COLUMNS_V1, WITHDRAWN_COLUMNS
from petition.i18n import english_count

# Read a megabyte at a time: hashlib and zlib run at C speed on large chunks, and a
# million rows are 150 MB.
_CHUNK = 1 << 20


class _HashingReader:
    """Reads a file while hashing and counting the bytes read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, n: int) -> bytes:
        data = self.raw.read(n)
        self.hasher.update(data)
        self.size += len(data)
        return data


@dataclasses.dataclass
class Report:
    """What was checked and what failed, in words for the person checking."""

    path: Path
    checked: list[str] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)
    manifest: dict[str, Any] | None = None
    manifest_sha256: str | None = None

    @property
    def is_valid(self) -> bool:
        return not self.failures

    def ok(self, text: str) -> None:
        self.checked.append(text)

    def fail(self, text: str) -> None:
        self.failures.append(text)


def _read_signed_manifest(
    zf: zipfile.ZipFile, key: Ed25519PublicKey, report: Report
) -> dict[str, Any] | None:
    names = zf.namelist()
    for required in (MANIFEST_FILE, SIGNATURE_FILE):
        if required not in names:
            report.fail(f"{required}: missing from the ZIP")
    if report.failures:
        return None
    manifest_bytes = zf.read(MANIFEST_FILE)
    report.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    try:
        key.verify(zf.read(SIGNATURE_FILE), manifest_bytes)
        report.ok(
            f"{SIGNATURE_FILE}: valid Ed25519 signature of {MANIFEST_FILE} by key "
            f"{batch_key.fingerprint(key)}"
        )
    except InvalidSignature:
        report.fail(
            f"{SIGNATURE_FILE}: not a valid signature of {MANIFEST_FILE} by key "
            f"{batch_key.fingerprint(key)} (the manifest was edited, or signed by another key)"
        )
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.fail(f"{MANIFEST_FILE}: not valid JSON ({exc})")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        report.fail(f"{MANIFEST_FILE}: not a {MANIFEST_FORMAT} manifest")
        return None
    if manifest.get("format_version") not in (1, MANIFEST_VERSION):
        report.fail(
            f"{MANIFEST_FILE}: format version {manifest.get('format_version')!r} "
            f"is not 1 or {MANIFEST_VERSION}, which this tool reads"
        )
        return None
    named = (manifest.get("signing_key") or {}).get("fingerprint_sha256")
    if named != batch_key.fingerprint(key):
        report.fail(
            f"{MANIFEST_FILE}: names signing key {named}, but the key given is "
            f"{batch_key.fingerprint(key)}"
        )
    return manifest


def _check_files(
    zf: zipfile.ZipFile,
    manifest: dict[str, Any],
    report: Report,
    hashed: dict[str, tuple[str, int]],
) -> set[str]:
    """Hash and size of every listed file; missing, extra and duplicate files.

    ``hashed`` holds the SHA-256 and size of members already read (signatures.csv, while
    its rows were checked): a million rows are inflated once, not twice.
    """
    infos = zf.infolist()
    in_zip = [i.filename for i in infos]
    for name in sorted(n for n, times in Counter(in_zip).items() if times > 1):
        report.fail(f"{name}: appears more than once in the ZIP")
    listed = {f["path"]: f for f in manifest.get("files", []) if isinstance(f, dict)}
    good: set[str] = set()
    for name, entry in listed.items():
        if name not in in_zip:
            report.fail(f"{name}: listed in the manifest but missing from the ZIP")
            continue
        if name in hashed:
            hexdigest, size = hashed[name]
        else:
            with zf.open(name) as f:
                reader = _HashingReader(f)
                while reader.read(_CHUNK):
                    pass
            hexdigest, size = reader.hasher.hexdigest(), reader.size
        problems = []
        if size != entry.get("size"):
            problems.append(f"size {size} bytes, manifest says {entry.get('size')}")
        if hexdigest != entry.get("sha256"):
            problems.append(f"SHA-256 {hexdigest}, manifest says {entry.get('sha256')}")
        if problems:
            report.fail(f"{name}: changed: {'; '.join(problems)}")
        else:
            good.add(name)
    if good == set(listed):
        report.ok(f"all {len(listed)} files listed in the manifest: SHA-256 and size match")
    extra = sorted(set(in_zip) - set(listed) - {MANIFEST_FILE, SIGNATURE_FILE})
    for name in extra:
        report.fail(f"{name}: in the ZIP but not listed in the manifest (added)")
    if not extra:
        report.ok("no file in the ZIP that the manifest does not list")
    return good


def _check_checksums(zf: zipfile.ZipFile, manifest: dict[str, Any], report: Report) -> None:
    if CHECKSUMS_FILE not in zf.namelist():
        report.fail(f"{CHECKSUMS_FILE}: missing from the ZIP")
        return
    expected = {
        f["path"]: f["sha256"] for f in manifest.get("files", []) if f["path"] != CHECKSUMS_FILE
    }
    found: dict[str, str] = {}
    for line in zf.read(CHECKSUMS_FILE).decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        found[name] = digest
    if found != expected:
        report.fail(f"{CHECKSUMS_FILE}: does not list the same files and hashes as the manifest")
    else:
        report.ok(f"{CHECKSUMS_FILE}: agrees with the manifest")


def _records(raw: _HashingReader) -> Iterator[list[bytes]]:
    """The CSV's records as their exact bytes, each without the CRLF that ends it, in
    lists of a few thousand (one per chunk read).

    A record ends at a CRLF outside quotes (RFC 4180 doubles quotes inside a field, so
    an odd count of them means a field is still open).
    """
    pending = b""
    while chunk := raw.read(_CHUNK):
        data = pending + chunk
        parts = data.split(b"\r\n")
        pending = parts.pop()
        if b'"' in data:
            records: list[bytes] = []
            open_record: bytes | None = None
            for part in parts:
                if open_record is not None:
                    open_record += b"\r\n" + part
                    if open_record.count(b'"') % 2 == 0:
                        records.append(open_record)
                        open_record = None
                elif part.count(b'"') % 2:
                    open_record = part
                else:
                    records.append(part)
            if open_record is not None:
                pending = open_record + b"\r\n" + pending
            parts = records
        yield parts
    if pending:
        yield [pending]


def _check_merkle(manifest: dict[str, Any], tree: merkle.TreeBuilder, report: Report) -> None:
    entry = manifest.get("merkle")
    if not isinstance(entry, dict):
        report.fail(f"{MANIFEST_FILE}: no merkle entry (format version 2 must have one)")
        return
    if entry.get("algorithm") != merkle.ALGORITHM:
        report.fail(f"{MANIFEST_FILE}: Merkle algorithm {entry.get('algorithm')!r} is unknown")
        return
    root = tree.root().hex()
    if entry.get("tree_size") != tree.size or entry.get("root") != root:
        report.fail(
            f"{SIGNATURES_FILE}: the Merkle tree of its {english_count(tree.size, 'row', 'rows')} "
            f"has root {root}, manifest says {entry.get('tree_size')} rows with root "
            f"{entry.get('root')}"
        )
    else:
        report.ok(
            f"{SIGNATURES_FILE}: Merkle root {root} of "
            f"{english_count(tree.size, 'row', 'rows')}, as the manifest says"
        )


def _check_rows(
    zf: zipfile.ZipFile, manifest: dict[str, Any], report: Report
) -> dict[str, tuple[str, int]]:
    """The rows of signatures.csv: columns, texts, order, count and Merkle root; returns
    the file's SHA-256 and size, hashed as it was read."""
    batch = manifest.get("batch") or {}
    names = zf.namelist()
    if SIGNATURES_FILE not in names:
        report.fail(f"{SIGNATURES_FILE}: missing from the ZIP")
        return {}
    has_tree = manifest.get("format_version") != 1
    columns = list(BATCH_COLUMNS if has_tree else BATCH_COLUMNS_V1)
    texts = {
        n.removeprefix("petition/").removesuffix(".md") for n in names if n.startswith("petition/")
    }
    check = _RowCheck(len(columns), texts)
    tree = merkle.TreeBuilder()
    with zf.open(SIGNATURES_FILE) as f:
        raw = _HashingReader(f)
        chunks = _records(raw)
        first = next(chunks, [b""])
        header = next(csv.reader([first[0].decode("utf-8", "replace") if first else ""]), None)
        if header != columns:
            report.fail(f"{SIGNATURES_FILE}: header is {header}, expected {columns}")
            return {}
        for records in itertools.chain([first[1:]], chunks):
            tree.add_many(records)
            check.check(records)
        while raw.read(_CHUNK):  # anything after the last record is hashed too
            pass
    hashed = {SIGNATURES_FILE: (raw.hasher.hexdigest(), raw.size)}
    count, first_sequence, last, problems = check.count, check.first, check.last, check.problems
    for problem in problems:
        report.fail(f"{SIGNATURES_FILE}: {problem}")
    if count != batch.get("count"):
        report.fail(
            f"{SIGNATURES_FILE}: {english_count(count, 'row', 'rows')}, "
            f"manifest says {batch.get('count')} "
            "(rows deleted or added)"
        )
    elif not problems:
        rows_text = english_count(count, "row", "rows")
        report.ok(f"{SIGNATURES_FILE}: {rows_text} in signature order, as the manifest says")
    if (first_sequence, last) != (batch.get("first_sequence"), batch.get("last_sequence")):
        report.fail(
            f"{SIGNATURES_FILE}: signatures {first_sequence}–{last}, manifest says "
            f"{batch.get('first_sequence')}–{batch.get('last_sequence')}"
        )
    if has_tree:
        _check_merkle(manifest, tree, report)
    if WITHDRAWN_FILE in names:
        with zf.open(WITHDRAWN_FILE) as member:
            rows = list(csv.reader(io.TextIOWrapper(member, encoding="utf-8", newline="")))
        if not rows or rows[0] != list(WITHDRAWN_COLUMNS):
            report.fail(f"{WITHDRAWN_FILE}: header is not {list(WITHDRAWN_COLUMNS)}")
        elif len(rows) - 1 != batch.get("withdrawn_count"):
            report.fail(
                f"{WITHDRAWN_FILE}: {english_count(len(rows) - 1, 'row', 'rows')}, manifest says "
                f"{batch.get('withdrawn_count')}"
            )
        else:
            gone = english_count(
                len(rows) - 1,
                "withdrawn or invalidated signature",
                "withdrawn or invalidated signatures",
            )
            report.ok(f"{WITHDRAWN_FILE}: {gone}")
    else:
        report.fail(f"{WITHDRAWN_FILE}: missing from the ZIP")
    return hashed


class _RowCheck:
    """Checks records in order and notes the first 20 problems.

    A chunk of records holding no quote, CR or LF has no quoted cell, so the csv module
    would split each record at its commas: such a chunk is checked with a few C loops
    over the whole chunk (the commas counted per record, the chunk split at its commas
    once, the signature numbers and texts taken as every n-th cell), without a Python
    step per row. A chunk with any of them, or with any problem, goes through the csv
    module row by row, which names each problem.
    """

    def __init__(self, columns: int, texts: set[str]) -> None:
        self.columns = columns
        self.texts = texts
        self.texts_bytes = {t.encode() for t in texts}
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None
        self.problems: list[str] = []

    def check(self, records: list[bytes]) -> None:
        if records and not self.problems and self._plain_chunk_is_good(records):
            return
        decoded = [r.decode("utf-8", "replace") for r in records]
        for row in csv.reader(decoded):
            self._check_row(row)

    def _plain_chunk_is_good(self, records: list[bytes]) -> bool:
        """Whether ``records`` hold no quote, CR or LF and every row is good; counted if so."""
        columns = self.columns
        joined = b",".join(records)
        # `in` runs at memchr speed; a regular expression for the three took 0.8 s of
        # CPU over a million rows (measured, load 6), the rest of this check 0.9 s.
        if b'"' in joined or b"\r" in joined or b"\n" in joined:
            return False
        # Every record has exactly columns - 1 commas, so the chunk's cells, split at
        # every comma, are the records' cells in order, `columns` to a record.
        if set(map(bytes.count, records, itertools.repeat(b","))) != {columns - 1}:
            return False
        cells = joined.split(b",")
        try:
            sequences = list(map(int, cells[0::columns]))
        except ValueError:
            return False
        if not (
            set(cells[5::columns]) <= self.texts_bytes
            and (self.last is None or self.last < sequences[0])
            and all(map(operator.lt, sequences, itertools.islice(sequences, 1, None)))
        ):
            return False
        self.first = sequences[0] if self.first is None else self.first
        self.last = sequences[-1]
        self.count += len(records)
        return True

    def _check_row(self, row: list[str]) -> None:
        self.count += 1
        line = self.count + 1  # the header is line 1
        problems = self.problems
        if len(problems) >= 20:
            return  # the tree is still built; enough problems are named
        try:
            sequence = int(row[0])
        except (ValueError, IndexError):
            problems.append(f"row {line} has no signature number")
            return
        if len(row) != self.columns:
            problems.append(f"row {line} has {len(row)} columns")
        if len(row) == self.columns and row[5] not in self.texts:
            problems.append(f"row {line} names text {row[5]}, which the ZIP does not hold")
        if self.last is not None and sequence <= self.last:
            problems.append(
                f"row {line}: signature {sequence} after {self.last} (rows reordered or repeated)"
            )
        self.first = sequence if self.first is None else self.first
        self.last = sequence
        if len(problems) >= 20:
            problems.append("… stopped after 20 problems")


def _check_chain(report: Report, previous: Report) -> None:
    manifest = report.manifest or {}
    earlier = previous.manifest or {}
    if not previous.is_valid:
        report.fail(f"previous batch {previous.path.name} does not verify: {previous.failures[0]}")
    number = (manifest.get("batch") or {}).get("sequence")
    earlier_number = (earlier.get("batch") or {}).get("sequence")
    if (manifest.get("petition") or {}).get("slug") != (earlier.get("petition") or {}).get("slug"):
        report.fail("chain: the previous batch is of another petition")
    if isinstance(number, int) and earlier_number != number - 1:
        report.fail(
            f"chain: this is batch {number} but the previous batch given is batch "
            f"{earlier_number}: batch {number - 1} is missing or out of order"
        )
    if manifest.get("previous_manifest_sha256") != previous.manifest_sha256:
        report.fail(
            f"chain: this batch follows a manifest with SHA-256 "
            f"{manifest.get('previous_manifest_sha256')}, but {previous.path.name}'s manifest "
            f"has SHA-256 {previous.manifest_sha256}"
        )
    else:
        report.ok(f"chain: follows batch {earlier_number} ({previous.path.name})")


def verify_batch(
    path: Path, *, public_key: Ed25519PublicKey, previous: Path | None = None
) -> Report:
    """Check ``path`` (and its link to ``previous``); never raises for a bad batch."""
    report = Report(path)
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = _read_signed_manifest(zf, public_key, report)
            if manifest is None:
                return report
            report.manifest = manifest
            try:
                hashed = _check_rows(zf, manifest, report)
                _check_files(zf, manifest, report, hashed)
                _check_checksums(zf, manifest, report)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                # A forged manifest may have any shape; say so instead of crashing.
                report.fail(f"{MANIFEST_FILE}: malformed ({exc.__class__.__name__}: {exc})")
                return report
    except (OSError, zipfile.BadZipFile) as exc:
        report.fail(f"{path.name}: not a readable ZIP ({exc})")
        return report
    sequence = (report.manifest.get("batch") or {}).get("sequence")
    has_previous = report.manifest.get("previous_manifest_sha256") is not None
    if sequence == 1 and has_previous:
        report.fail("chain: batch 1 names a previous manifest")
    if isinstance(sequence, int) and sequence > 1 and not has_previous:
        report.fail(f"chain: batch {sequence} names no previous manifest")
    if previous is not None:
        _check_chain(report, verify_batch(previous, public_key=public_key))
    return report
