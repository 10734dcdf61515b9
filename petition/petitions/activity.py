"""How fast a petition is being signed, from what the worker folds (never a scan).

The fold adds what it counted to the petition's row of the current UTC hour
(``petition_hourly_counts``, :func:`petition.signing.counts.fold_counts`); these
functions read those few rows.
"""

from __future__ import annotations

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
