"""How fast a petition is being signed and its count over time, from what the worker
folds (never a scan).

The fold adds what it counted to the petition's row of the current UTC hour
(``petition_hourly_counts``, :func:`petition.signing.counts.fold_counts`); these
functions read those few rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.petitions.models import Petition, PetitionHourlyCount


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


def count_by_hour(session: Session, petition: Petition) -> list[HourFigure]:
    """The count over time, an entry per hour the fold recorded, oldest first.

    The count at each hour's end is worked back from the petition's folded total (the
    fold writes both under one lock), so the series ends at the count the page shows,
    also for a petition signed before hours were recorded.
    """
    rows = session.execute(
        sa.select(
            PetitionHourlyCount.hour, PetitionHourlyCount.counted, PetitionHourlyCount.uncounted
        )
        .where(PetitionHourlyCount.petition_id == petition.id)
        .order_by(PetitionHourlyCount.hour.desc())
    ).all()
    figures = []
    count = petition.signature_count
    for hour, counted, uncounted in rows:
        figures.append(HourFigure(hour=hour, counted=counted, uncounted=uncounted, count=count))
        # Never below zero: a recount may have corrected the total since.
        count = max(count - counted + uncounted, 0)
    figures.reverse()
    return figures
