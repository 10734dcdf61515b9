"""Plain functions that turn signatures into rows and cells for exports.

The delivery batch and the organizers' full export share them, so a column means the
same in both.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection):
# "=HYPERLINK(…)" in a name must stay text when an organizer opens the file.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

BATCH_COLUMNS = (
    "sequence",
    "name",
    "country",
    "postcode",
    "verified_at",
    "text_sha256",
    "receipt_id",
)
# Batches made before receipts (manifest format version 1) had no receipt id.
BATCH_COLUMNS_V1 = BATCH_COLUMNS[:-1]
WITHDRAWN_COLUMNS = ("sequence",)
FULL_COLUMNS = (
    "sequence",
    "status",
    "name",
    "email",
    "country",
    "postcode",
    "is_public",
    "has_update_consent",
    "source",
    "source_origin",
    "created_at",
    "verified_at",
    "withdrawn_at",
    "text_sha256",
)


def safe_cell(value: object) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would run it."""
    # Text and counts first: a batch of a million rows asks seven million times.
    if type(value) is str:
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if type(value) is int and value >= 0:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def batch_records(
    rows: Iterable[Sequence[Any]], text_sha256: Mapping[int, str]
) -> list[tuple[object, ...]]:
    """The batch's cells of many rows at once, as :func:`batch_row` and :func:`safe_cell`
    make them one by one (the receipt rebuilds a row that way, so the two must agree).

    Each row is ``(sequence, name, country, postcode, verified_at, version_id, receipt_id)``
    with ``verified_at`` already ISO text (:func:`iso_utc`, written by the database for a
    batch of a million). No call per cell: at a million rows the seven calls per row were
    a fifth of the export's own time.
    """
    triggers = FORMULA_TRIGGERS
    records: list[tuple[object, ...]] = []
    append = records.append
    for sequence, name, country, postcode, verified_at, version_id, receipt_id in rows:
        name = name or ""
        postcode = postcode or ""
        append(
            (
                sequence,  # a positive int: the csv writer writes str(sequence), as safe_cell
                "'" + name if name.startswith(triggers) else name,
                "'" + country if country.startswith(triggers) else country,
                "'" + postcode if postcode.startswith(triggers) else postcode,
                verified_at or "",
                text_sha256[version_id],
                "'" + receipt_id if receipt_id.startswith(triggers) else receipt_id,
            )
        )
    return records


def iso_utc(value: dt.datetime | None) -> str:
    """ISO 8601 in UTC with a Z, to the second: ``2026-11-26T01:45:26Z``."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def batch_row(
    *,
    sequence: int,
    name: str | None,
    country: str,
    postcode: str | None,
    verified_at: dt.datetime | None,
    text_sha256: str,
    receipt_id: str,
) -> dict[str, object]:
    """One signature as it is delivered: no email address, nothing for moderation."""
    return {
        "sequence": sequence,
        "name": name or "",
        "country": country,
        "postcode": postcode or "",
        "verified_at": iso_utc(verified_at),
        "text_sha256": text_sha256,
        "receipt_id": receipt_id,
    }


def full_row(row: Any, text_sha256: str) -> dict[str, object]:
    """One signature with everything the organizers hold about it (not the IP hash)."""
    return {
        "sequence": row.sequence,
        "status": str(row.status),
        "name": row.name,
        "email": row.email,
        "country": row.country,
        "postcode": row.postcode,
        "is_public": bool(row.is_public),
        "has_update_consent": bool(row.has_update_consent),
        "source": str(row.source),
        "source_origin": row.source_origin,
        "created_at": iso_utc(row.created_at) or None,
        "verified_at": iso_utc(row.verified_at) or None,
        "withdrawn_at": iso_utc(row.withdrawn_at) or None,
        "text_sha256": text_sha256,
    }


class CsvLines:
    """RFC 4180 lines (CRLF, quotes doubled), formula-safe, one row at a time."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def _take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def header(self) -> str:
        self._writer.writerow(self.columns)
        return self._take()

    def row(self, values: dict[str, object]) -> str:
        self._writer.writerow([safe_cell(values[c]) for c in self.columns])
        return self._take()

    def records(self, records: Sequence[Sequence[object]]) -> tuple[bytes, list[bytes]]:
        """Many rows of cells already safe (:func:`batch_records`): their bytes as one
        chunk, and each row's exact bytes without its CRLF (the batch's Merkle leaves).

        The chunk is split at its CRLFs when it holds exactly one per row: a CRLF inside a
        cell would add one (the writer quotes a cell holding CR or LF, so a cell's CRLF
        never touches a row's terminator). Else its rows are written again one by one.
        """
        self._writer.writerows(records)
        data = self._take().encode()
        lines = data.split(b"\r\n")
        if len(lines) == len(records) + 1:
            lines.pop()  # after the last terminator
            return data, lines
        lines = []
        for record in records:
            self._writer.writerow(record)
            lines.append(self._take().encode()[:-2])
        return data, lines

    def rows(self, rows: Iterable[dict[str, object]]) -> Iterator[str]:
        """Rows joined into chunks of about 64 KiB, for writing and streaming."""
        chunk: list[str] = []
        size = 0
        for values in rows:
            self._writer.writerow([safe_cell(values[c]) for c in self.columns])
            line = self._take()
            chunk.append(line)
            size += len(line)
            if size >= 65536:
                yield "".join(chunk)
                chunk, size = [], 0
        if chunk:
            yield "".join(chunk)


def json_array(items: Iterable[dict[str, object]]) -> Iterator[str]:
    """A JSON array written item by item, so memory does not grow with the list."""
    yield "["
    first = True
    for item in items:
        yield ("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False, sort_keys=True)
        first = False
    yield "\n]\n"
