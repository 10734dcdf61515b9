"""The fold's tally of what happened to signatures, into each petition's daily figures.

Signing, confirming and withdrawing write only the signature's own row (DESIGN.md,
decision 8: no confirmation waits on a shared row). Each signature carries the time
of each of these events (``created_at``, ``verified_at``, ``withdrawn_at``), so the
fold reads the rows past a cursor per event, adds them up per petition and UTC day
(:func:`petition.petitions.activity.add_to_days`) and moves the cursor: the rows read
are the new ones only, never a petition's whole list.

A cursor can pass only rows already committed, so the tally stays :data:`LAG` behind
the clock: a row whose timestamp is older than that and that is still uncommitted
would need a transaction open for longer, and a sign or confirm request lasts
milliseconds. Functions flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.petitions import activity
from petition.petitions.models import PetitionDailyFigures
from petition.signing.models import FiguresCursor, Signature

logger = logging.getLogger(__name__)

LAG = dt.timedelta(minutes=2)
EVENTS = ("confirmed", "signed", "withdrawn")
LIMIT = 5000

Tally = dict[int, dict[dt.date, Counter[str]]]


def tally(session: Session, *, limit: int = LIMIT) -> int:
    """Add the signatures made, confirmed and withdrawn since the last tally (up to
    :data:`LAG` ago) to the daily figures; returns how many events were added.

    Several workers may fold at once: a cursor another one holds is skipped.
    """
    upto = utcnow() - LAG
    cursors = _cursors(session)
    found: Tally = defaultdict(lambda: defaultdict(Counter))
    added = 0
    if "signed" in cursors:
        added += _tally_signed(session, cursors["signed"], upto, limit, found)
    for event, column in (
        ("confirmed", Signature.verified_at),
        ("withdrawn", Signature.withdrawn_at),
    ):
        if event in cursors:
            added += _tally_moments(session, cursors[event], column, upto, limit, found)
    for petition_id, days in sorted(found.items()):
        activity.add_to_days(session, petition_id=petition_id, days=days)
    if added:
        session.flush()
        logger.info("tallied %d signature events into daily figures", added)
    return added


def _cursors(session: Session) -> dict[str, FiguresCursor]:
    """The cursors this fold may move (locked; a cursor another fold holds is left out).

    The migration made them, after its backfill; a database emptied since (the test
    suite's PostgreSQL) gets them again, from the start, as an empty table should (a
    second fold making them at the same moment waits for the first one's commit).
    """
    locked = (
        sa.select(FiguresCursor).order_by(FiguresCursor.event).with_for_update(skip_locked=True)
    )
    cursors = {c.event: c for c in session.scalars(locked)}
    if len(cursors) < len(EVENTS):
        present = set(session.scalars(sa.select(FiguresCursor.event)))
        missing = [{"event": e, "through_id": 0} for e in EVENTS if e not in present]
        if missing:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            session.execute(dialect.insert(FiguresCursor).values(missing).on_conflict_do_nothing())
            cursors = {c.event: c for c in session.scalars(locked)}
    return cursors


def _tally_signed(
    session: Session, cursor: FiguresCursor, upto: dt.datetime, limit: int, found: Tally
) -> int:
    """Signatures made (and of them, those that came in held), in id order."""
    rows = session.execute(
        sa.select(
            Signature.id,
            Signature.petition_id,
            Signature.created_at,
            Signature.flag_reasons.is_not(None),
        )
        .where(Signature.id > cursor.through_id)
        .order_by(Signature.id)
        .limit(limit)
        # A few rows at a time: a pass stops at the first row made within the lag, and
        # in a surge the rows after it would otherwise be read (and left) every pass.
        .execution_options(yield_per=200)
    )
    added = 0
    try:
        for row_id, petition_id, created_at, was_flagged in rows:
            if created_at > upto:
                break  # too recent to be sure every smaller id has committed
            counts = found[petition_id][created_at.date()]
            counts["signed"] += 1
            if was_flagged:
                counts["held"] += 1
            cursor.through_id = row_id
            added += 1
    finally:
        rows.close()
    return added


def _tally_moments(
    session: Session,
    cursor: FiguresCursor,
    column: Any,
    upto: dt.datetime,
    limit: int,
    found: Tally,
) -> int:
    """Confirmations or withdrawals past the cursor, along ``(column, id)``."""
    past = [column.is_not(None), column <= upto]  # as the partial index says
    if cursor.through_at is not None:
        # A range the index serves (an OR alone made SQLite read every row), then the
        # rows of the cursor's own moment that it has passed already are left out.
        past.append(column >= cursor.through_at)
        past.append(sa.or_(column > cursor.through_at, Signature.id > cursor.through_id))
    rows = session.execute(
        sa.select(Signature.id, Signature.petition_id, column)
        .where(*past)
        .order_by(column, Signature.id)
        .limit(limit)
    ).all()
    for row_id, petition_id, moment in rows:
        found[petition_id][moment.date()][cursor.event] += 1
        cursor.through_at, cursor.through_id = moment, row_id
    return len(rows)


def recount(session: Session, *, petition_id: int) -> int:
    """Recompute the petition's made, confirmed and withdrawn per day exactly from its
    signatures, as far as the cursors have come; returns the days corrected.

    The tally counts each row once, but a row whose request committed later than
    :data:`LAG` after its timestamp would be passed by; this one scan (a command's,
    like the count's recount) finds it. Moderators' figures (held, released,
    invalidated) come from their decisions and stay as recorded.
    """
    cursors = {
        c.event: c
        for c in session.scalars(
            sa.select(FiguresCursor).order_by(FiguresCursor.event).with_for_update()
        )
    }
    exact: dict[dt.date, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        sa.select(Signature.id, Signature.created_at, Signature.verified_at, Signature.withdrawn_at)
        .where(Signature.petition_id == petition_id)
        .execution_options(yield_per=1000)
    )
    signed = cursors.get("signed")
    for row_id, created_at, verified_at, withdrawn_at in rows:
        if signed is not None and row_id <= signed.through_id:
            exact[created_at.date()]["signed"] += 1
        for event, moment in (("confirmed", verified_at), ("withdrawn", withdrawn_at)):
            cursor = cursors.get(event)
            if moment is None or cursor is None or cursor.through_at is None:
                continue
            if (moment, row_id) <= (cursor.through_at, cursor.through_id):
                exact[moment.date()][event] += 1
    stored = {
        day: Counter({"signed": s, "confirmed": c, "withdrawn": w})
        for day, s, c, w in session.execute(
            sa.select(
                PetitionDailyFigures.day,
                PetitionDailyFigures.signed,
                PetitionDailyFigures.confirmed,
                PetitionDailyFigures.withdrawn,
            ).where(PetitionDailyFigures.petition_id == petition_id)
        )
    }
    deltas: dict[dt.date, Counter[str]] = {}
    for day in set(exact) | set(stored):
        have = stored.get(day, Counter())
        delta = Counter({e: exact[day][e] - have[e] for e in ("signed", "confirmed", "withdrawn")})
        if any(delta.values()):
            deltas[day] = delta
    if deltas:
        logger.warning(
            "petition %d: daily figures of %d days corrected by the recount",
            petition_id,
            len(deltas),
        )
        activity.add_to_days(session, petition_id=petition_id, days=deltas)
        session.flush()
    return len(deltas)
