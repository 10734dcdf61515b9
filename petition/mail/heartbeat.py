"""Workers' heartbeats: written by each worker, read by ``petition status``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.mail.models import WorkerHeartbeat

# A worker silent for this long is forgotten (its row removed by any live worker).
FORGET_AFTER = dt.timedelta(days=1)


def beat(
    session: Session,
    *,
    worker_id: str,
    started_at: dt.datetime,
    mail_at: dt.datetime | None,
    folded_at: dt.datetime | None,
) -> None:
    """Record that ``worker_id`` lives, with when its loops last made progress."""
    now = utcnow()
    values = {"beat_at": now, "mail_at": mail_at, "folded_at": folded_at}
    updated = session.execute(
        sa.update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id).values(**values)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.add(WorkerHeartbeat(worker_id=worker_id, started_at=started_at, **values))
        session.execute(
            sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER)
        )
    session.flush()


def forget(session: Session, *, worker_id: str) -> None:
    """A worker that stops cleanly is no longer expected to beat."""
    session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))


def heartbeats(session: Session) -> list[WorkerHeartbeat]:
    return list(session.scalars(sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.started_at)))
