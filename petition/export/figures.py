"""A petition's public figures as open data: the same numbers in JSON and in CSV.

Only folded counters are read (:mod:`petition.petitions.activity`): no signature row,
no personal data, nothing per signature. The JSON document and the CSV files are made
from the same rows by these plain functions, so a figure means the same in both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from petition.export.serializers import CsvLines, iso_utc
from petition.petitions import activity
from petition.petitions.models import Petition

HOUR_COLUMNS = ("hour", "counted", "uncounted", "count")


def hour_rows(hours: Iterable[activity.HourFigure]) -> list[dict[str, Any]]:
    """One dict per hour, as the JSON holds it and the CSV's columns name it."""
    return [
        {"hour": iso_utc(h.hour), "counted": h.counted, "uncounted": h.uncounted, "count": h.count}
        for h in hours
    ]


def open_data(session: Session, petition: Petition) -> dict[str, Any]:
    """The figures document: the petition's count and its count hour by hour."""
    return {
        "petition": petition.slug,
        "count": petition.signature_count,
        "hours": hour_rows(activity.count_by_hour(session, petition)),
    }


def as_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header, each cell safe to open in a spreadsheet."""
    lines = CsvLines(columns)
    return lines.header() + "".join(lines.rows(rows))


def etag_of(body: str | bytes) -> str:
    """A strong validator for a figures answer: the hash of its exact body."""
    data = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()[:32]
