"""Figures for the dashboards, counted by the database in a few grouped queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.petitions.models import Petition, PetitionStatus
from petition.signing.models import Signature, SignatureStatus

Unit = Literal["hour", "day"]
_FORMATS = {"hour": ("%Y-%m-%d %H", 13, "YYYY-MM-DD HH24"), "day": ("%Y-%m-%d", 10, "YYYY-MM-DD")}


def status_counts(session: Session, *, petition: Petition) -> dict[str, int]:
    """Signatures per status; ``flagged`` are those held for a moderator (pending or
    verified), which ``pending`` and ``verified`` then leave out."""
    counts = {status.value: 0 for status in SignatureStatus} | {"flagged": 0}
    rows = session.execute(
        sa.select(Signature.status, Signature.is_held, sa.func.count())
        .where(Signature.petition_id == petition.id)
        .group_by(Signature.status, Signature.is_held)
    )
    open_states = (SignatureStatus.PENDING, SignatureStatus.VERIFIED)
    for status, is_held, number in rows:
        key = "flagged" if is_held and status in open_states else str(status)
        counts[key] += number
    return counts


def _bucket(session: Session, unit: Unit) -> sa.ColumnElement[str]:
    """The UTC hour or day of verification as text, on either database."""
    _, width, pg_format = _FORMATS[unit]
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", Signature.verified_at), pg_format)
    # SQLite keeps UTC datetimes as "YYYY-MM-DD HH:MM:SS.ffffff": the prefix is the bucket.
    return sa.func.substr(Signature.verified_at, 1, width)


def over_time(
    session: Session, *, petition: Petition, unit: Unit, periods: int
) -> list[tuple[str, int]]:
    """Verified signatures per UTC hour or day, the last ``periods`` of them, oldest first."""
    python_format, _, _ = _FORMATS[unit]
    step = dt.timedelta(hours=1) if unit == "hour" else dt.timedelta(days=1)
    now = utcnow()
    start = now - step * (periods - 1)
    start = (
        start.replace(minute=0, second=0, microsecond=0)
        if unit == "hour"
        else start.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    bucket = _bucket(session, unit)
    rows = session.execute(
        sa.select(bucket, sa.func.count())
        .where(
            Signature.petition_id == petition.id,
            Signature.counts,
            Signature.verified_at >= start,
        )
        .group_by(bucket)
    )
    found: dict[str, int] = {str(label): int(n) for label, n in rows}
    return [
        (label, found.get(label, 0))
        for label in ((start + step * i).strftime(python_format) for i in range(periods))
    ]


def by_country(session: Session, *, petition: Petition, limit: int = 15) -> list[tuple[str, int]]:
    """Verified signatures per country, the largest first."""
    number = sa.func.count().label("number")
    rows = session.execute(
        sa.select(Signature.country, number)
        .where(
            Signature.petition_id == petition.id,
            Signature.counts,
        )
        .group_by(Signature.country)
        .order_by(number.desc(), Signature.country)
        .limit(limit)
    )
    return [(str(country), int(n)) for country, n in rows]


@dataclasses.dataclass(frozen=True)
class SourceCount:
    source: str
    origin: str | None
    verified: int
    total: int


def sources(session: Session, *, petition: Petition, limit: int = 20) -> list[SourceCount]:
    """Where signatures came from: the page, a widget on which site, the API."""
    verified = sa.func.sum(
        sa.case((Signature.status == SignatureStatus.VERIFIED, 1), else_=0)
    ).label("verified")
    total = sa.func.count().label("total")
    rows = session.execute(
        sa.select(Signature.source, Signature.source_origin, verified, total)
        .where(Signature.petition_id == petition.id)
        .group_by(Signature.source, Signature.source_origin)
        .order_by(total.desc())
        .limit(limit)
    )
    return [
        SourceCount(source=str(s), origin=o, verified=int(v or 0), total=int(t))
        for s, o, v, t in rows
    ]


@dataclasses.dataclass(frozen=True)
class StatusSummary:
    status: str
    petitions: int
    signatures: int


def site_summary(session: Session, *, petition_ids: list[int] | None = None) -> list[StatusSummary]:
    """Petitions and their verified signatures per status (of the given petitions, or all)."""
    query = sa.select(
        Petition.status, sa.func.count(), sa.func.coalesce(sa.func.sum(Petition.signature_count), 0)
    ).group_by(Petition.status)
    if petition_ids is not None:
        query = query.where(Petition.id.in_(petition_ids))
    found = {str(s): (n, c) for s, n, c in session.execute(query)}
    return [
        StatusSummary(
            status=s.value,
            petitions=found.get(s.value, (0, 0))[0],
            signatures=int(found.get(s.value, (0, 0))[1]),
        )
        for s in PetitionStatus
    ]
