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

from petition.abuse.models import FlagReason
from petition.export.serializers import CsvLines, iso_utc
from petition.petitions import activity
from petition.petitions.models import Petition

HOUR_COLUMNS = ("hour", "counted", "uncounted", "count")
# Every rule has its column, so the CSV has the same columns whatever happened.
RULES = tuple(str(rule) for rule in FlagReason)
DAY_COLUMNS = (
    "day",
    "signed",
    "confirmed",
    "counted",
    "uncounted",
    "held",
    "released",
    "invalidated",
    *(f"invalidated_{rule}" for rule in RULES),
    "withdrawn",
    "count",
)


def hour_rows(hours: Iterable[activity.HourFigure]) -> list[dict[str, Any]]:
    """One dict per hour, as the JSON holds it and the CSV's columns name it."""
    return [
        {"hour": iso_utc(h.hour), "counted": h.counted, "uncounted": h.uncounted, "count": h.count}
        for h in hours
    ]


def day_rows(days: Iterable[activity.DayFigure]) -> list[dict[str, Any]]:
    """One dict per day, as the JSON holds it (the rules as one object)."""
    return [
        {
            "day": d.day.isoformat(),
            "signed": d.signed,
            "confirmed": d.confirmed,
            "counted": d.counted,
            "uncounted": d.uncounted,
            "held": d.held,
            "released": d.released,
            "invalidated": d.invalidated,
            "invalidated_by_rule": dict(d.invalidated_by_rule),
            "withdrawn": d.withdrawn,
            "count": d.count,
        }
        for d in days
    ]


def day_csv_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON's days with the rules spread into a column each, for the CSV."""
    flat = []
    for row in rows:
        by_rule = row["invalidated_by_rule"]
        flat.append({**row, **{f"invalidated_{r}": by_rule.get(r, 0) for r in RULES}})
    return flat


def open_data(session: Session, petition: Petition) -> dict[str, Any]:
    """The figures document: the petition's count, its figures day by day and its
    count hour by hour."""
    hours = activity.count_by_hour(session, petition)
    return {
        "petition": petition.slug,
        "count": petition.signature_count,
        "days": day_rows(activity.figures_by_day(session, petition, hours)),
        "hours": hour_rows(hours),
    }


def as_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header, each cell safe to open in a spreadsheet."""
    lines = CsvLines(columns)
    return lines.header() + "".join(lines.rows(rows))


def etag_of(body: str | bytes) -> str:
    """A strong validator for a figures answer: the hash of its exact body."""
    data = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()[:32]
