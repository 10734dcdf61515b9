"""How fast a petition is being signed and its count over time, from what the worker
folds (never a scan).

The fold adds what it counted to the petition's row of the current UTC hour
(``petition_hourly_counts``, :func:`petition.signing.counts.fold_counts`) and what
happened to signatures to the row of their day (``petition_daily_figures``,
:func:`petition.signing.figures.tally`); moderators' decisions are added to the day
where they are made. These functions write and read those few rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.petitions.models import (
    Petition,
    PetitionDailyFigures,
    PetitionDailyInvalidation,
    PetitionHourlyCount,
)


def signed_in_last_day(session: Session, petition: Petition) -> int | None:
    """Signatures counted in the last 24 hours (net of those no longer counted), or
    ``None`` when the fold has recorded no hour for the petition yet.

    The current hour counts whole, so the window is 24 hours plus the part of the
    current hour gone by; hours are folded rows, never a scan of signatures.
    """
    since = utcnow().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=23)
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(PetitionHourlyCount.counted), 0),
            sa.func.coalesce(sa.func.sum(PetitionHourlyCount.uncounted), 0),
        ).where(PetitionHourlyCount.petition_id == petition.id)
    ).one()
    if not row[0]:
        return None
    counted, uncounted = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(PetitionHourlyCount.counted), 0),
            sa.func.coalesce(sa.func.sum(PetitionHourlyCount.uncounted), 0),
        ).where(PetitionHourlyCount.petition_id == petition.id, PetitionHourlyCount.hour >= since)
    ).one()
    return max(int(counted) - int(uncounted), 0)


@dataclasses.dataclass(frozen=True)
class HourFigure:
    """One UTC hour of the count: what the fold counted and stopped counting in it,
    and the count at the hour's end."""

    hour: dt.datetime
    counted: int
    uncounted: int
    count: int


def count_by_hour(
    session: Session, petition: Petition, *, since: dt.datetime | None = None
) -> list[HourFigure]:
    """The count over time, an entry per hour the fold recorded (from ``since``),
    oldest first.

    The count at each hour's end is worked back from the petition's folded total (the
    fold writes both under one lock), so the series ends at the count the page shows,
    also for a petition signed before hours were recorded, and a window of recent
    hours needs no earlier row.
    """
    query = (
        sa.select(
            PetitionHourlyCount.hour, PetitionHourlyCount.counted, PetitionHourlyCount.uncounted
        )
        .where(PetitionHourlyCount.petition_id == petition.id)
        .order_by(PetitionHourlyCount.hour.desc())
    )
    if since is not None:
        query = query.where(PetitionHourlyCount.hour >= since)
    rows = session.execute(query).all()
    figures = []
    count = petition.signature_count
    for hour, counted, uncounted in rows:
        figures.append(HourFigure(hour=hour, counted=counted, uncounted=uncounted, count=count))
        # Never below zero: a recount may have corrected the total since.
        count = max(count - counted + uncounted, 0)
    figures.reverse()
    return figures


DAY_EVENTS = ("signed", "confirmed", "held", "released", "invalidated", "withdrawn")


def add_to_days(session: Session, *, petition_id: int, days: dict[dt.date, Counter[str]]) -> None:
    """Add counts of :data:`DAY_EVENTS` to a petition's daily figures (upserted).

    The fold calls it with what it tallied, moderation with what a moderator decided;
    both write only counts, so the table holds nothing about any one signature.
    """
    if not days:
        return
    rows = [
        {"petition_id": petition_id, "day": day, **{e: counts.get(e, 0) for e in DAY_EVENTS}}
        for day, counts in sorted(days.items())
    ]
    _upsert(session, PetitionDailyFigures, rows, keys=["petition_id", "day"], adds=list(DAY_EVENTS))


def add_invalidations(
    session: Session, *, petition_id: int, day: dt.date, by_rule: Counter[str]
) -> None:
    """Add a moderator's invalidations, counted per flag rule, to the day's figures."""
    rows = [
        {"petition_id": petition_id, "day": day, "rule": rule, "invalidated": n}
        for rule, n in sorted(by_rule.items())
        if n
    ]
    if rows:
        _upsert(
            session,
            PetitionDailyInvalidation,
            rows,
            keys=["petition_id", "day", "rule"],
            adds=["invalidated"],
        )


def _upsert(
    session: Session, model: Any, rows: list[dict[str, Any]], *, keys: list[str], adds: list[str]
) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(model).values(rows)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=keys,
            set_={name: getattr(model, name) + getattr(insert.excluded, name) for name in adds},
        )
    )


@dataclasses.dataclass(frozen=True)
class DayFigure:
    """One UTC day of a petition's figures (counts only)."""

    day: dt.date
    signed: int = 0
    confirmed: int = 0
    counted: int = 0
    uncounted: int = 0
    held: int = 0
    released: int = 0
    invalidated: int = 0
    invalidated_by_rule: dict[str, int] = dataclasses.field(default_factory=dict)
    withdrawn: int = 0
    count: int | None = None


def figures_by_day(
    session: Session,
    petition: Petition,
    hours: list[HourFigure] | None = None,
    *,
    since: dt.date | None = None,
) -> list[DayFigure]:
    """Every day something happened (from ``since``), oldest first: the daily figures,
    the invalidations per rule, and what the fold counted that day with the count at
    the day's end (from ``hours``, :func:`count_by_hour`'s answer for the same days,
    read when not given)."""
    start = None if since is None else dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    if hours is None:
        hours = count_by_hour(session, petition, since=start)
    days: dict[dt.date, dict[str, Any]] = defaultdict(dict)
    for h in hours:
        entry = days[h.hour.astimezone(dt.UTC).date()]
        entry["counted"] = entry.get("counted", 0) + h.counted
        entry["uncounted"] = entry.get("uncounted", 0) + h.uncounted
        entry["count"] = h.count  # hours come oldest first: the last one ends the day
    daily = sa.select(
        PetitionDailyFigures.day, *(getattr(PetitionDailyFigures, e) for e in DAY_EVENTS)
    ).where(PetitionDailyFigures.petition_id == petition.id)
    by_rule = sa.select(
        PetitionDailyInvalidation.day,
        PetitionDailyInvalidation.rule,
        PetitionDailyInvalidation.invalidated,
    ).where(PetitionDailyInvalidation.petition_id == petition.id)
    if since is not None:
        daily = daily.where(PetitionDailyFigures.day >= since)
        by_rule = by_rule.where(PetitionDailyInvalidation.day >= since)
    for day, *values in session.execute(daily):
        days[day].update(zip(DAY_EVENTS, values, strict=True))
    for day, rule, n in session.execute(by_rule):
        days[day].setdefault("invalidated_by_rule", {})[rule] = n
    figures = []
    count: int | None = None
    for day in sorted(days):
        entry = days[day]
        # A day with no hour of its own ends at the count of the day before.
        count = entry.get("count", count)
        entry["count"] = count
        entry["invalidated_by_rule"] = dict(sorted(entry.get("invalidated_by_rule", {}).items()))
        figures.append(DayFigure(day=day, **entry))
    return figures
