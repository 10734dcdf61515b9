"""Sending the outbox: each due message claimed, sent and recorded on its own.

At most once: a worker claims one message at a time with a lease (``claimed_by``,
``lease_until``, committed before it connects), commits ``handed_over_at`` once the
server has accepted every recipient and just before the SMTP DATA, and records the
outcome as soon as the server has answered. A worker killed before the hand-over leaves
the message claimed until the lease passes, then another worker sends it (the server
was never given it). A worker killed after the hand-over may or may not have had the
message accepted: the next worker to meet it after the lease never sends it again but
gives it the status UNKNOWN, logged once and counted by ``petition status``. So does a
connection lost between DATA and the server's answer.

The loop that runs this (and the fold) is :mod:`petition.worker`. Several workers may
run: on PostgreSQL each claims with ``FOR UPDATE SKIP LOCKED``; SQLite serializes
writers anyway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.config import Settings
from petition.db import session_scope, utcnow
from petition.mail import render
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.mail.senders import (
    FileSender,
    OutcomeUnknown,
    PermanentFailure,
    Sender,
    ServerUnavailable,
    SMTPSender,
    TemporaryFailure,
)

logger = logging.getLogger(__name__)

BATCH = 50
MAX_BACKOFF = dt.timedelta(hours=1)


def make_sender(settings: Settings) -> Sender:
    if settings.mail_url:
        return SMTPSender(
            settings.mail_url,
            connect_timeout=settings.mail_connect_timeout_seconds,
            command_timeout=settings.mail_command_timeout_seconds,
            send_timeout=settings.mail_send_timeout_seconds,
        )
    return FileSender(dev_mail_folder(settings))


def dev_mail_folder(settings: Settings) -> Path:
    return Path(settings.instance_path) / "mail"


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return min(dt.timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A message a worker holds: what it needs to send it, read while claiming."""

    id: int
    template: str
    to_address: str
    locale: str
    payload: dict[str, Any]
    message_id: str
    attempts: int


_OUTBOX: sa.Table = OutboxMessage.__table__  # type: ignore[assignment]
_QUEUED = OutboxStatus.QUEUED.value

# Built once, bound per call: a worker runs these for every message, and building an
# ORM statement per call cost more than the statement itself (measured with cProfile).
_TOP_LEVEL = sa.select(sa.func.max(_OUTBOX.c.priority)).where(_OUTBOX.c.status == _QUEUED)
_LEVEL_BELOW = _TOP_LEVEL.where(_OUTBOX.c.priority < sa.bindparam("below"))
_FIRST_DUE = (
    sa.select(
        _OUTBOX.c.id,
        _OUTBOX.c.template,
        _OUTBOX.c.to_address,
        _OUTBOX.c.locale,
        _OUTBOX.c.payload,
        _OUTBOX.c.message_id,
        _OUTBOX.c.attempts,
        _OUTBOX.c.claimed_by,
        _OUTBOX.c.handed_over_at,
    )
    .where(
        _OUTBOX.c.status == _QUEUED,
        _OUTBOX.c.priority == sa.bindparam("level"),
        _OUTBOX.c.next_attempt_at <= sa.bindparam("now"),
        sa.or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until <= sa.bindparam("now")),
    )
    .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("row_id"))
    .values(
        claimed_by=sa.bindparam("worker_id"),
        lease_until=sa.bindparam("lease_until"),
        attempts=_OUTBOX.c.attempts + 1,
    )
)


# A message whose worker's lease passed after it had handed the message over: the
# server may have accepted it, so it is given up, never sent twice. Address and links
# are erased as for any message that will not be sent again.
_GIVE_UP_UNKNOWN = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("row_id"), _OUTBOX.c.status == _QUEUED)
    .values(
        status=OutboxStatus.UNKNOWN.value,
        claimed_by=None,
        lease_until=None,
        to_address=None,
        payload=None,
        last_error=sa.bindparam("error"),
    )
)


def claim_next(session: Session, *, worker_id: str, lease: dt.timedelta) -> Claimed | None:
    """Take the next due message for ``worker_id`` until ``lease`` from now, or None.

    The highest priority level first, and in it the longest due. Each level is read
    along ``ix_outbox_messages_due`` (status, priority, next_attempt_at): the highest
    level still queued, then its first due and unleased row; a level with nothing due
    sends the search one level down. There are a handful of levels, so a pick costs a
    few index probes however many bulk messages wait. A row met with a passed lease and
    a hand-over is given the status UNKNOWN (in this transaction) and the search goes on.
    """
    now = utcnow()
    level = session.execute(_TOP_LEVEL).scalar()
    while True:
        if level is None:
            return None
        row = session.execute(_FIRST_DUE, {"level": level, "now": now}).first()
        if row is None:
            level = session.execute(_LEVEL_BELOW, {"below": level}).scalar()
        elif row.handed_over_at is not None:
            _give_up_unknown(session, row_id=row.id, holder=row.claimed_by)
        else:
            break
    if row.claimed_by is not None:
        logger.warning(
            "mail %d: the lease of worker %s passed while it held the message; "
            "sending it again with the same Message-ID",
            row.id,
            row.claimed_by,
        )
    session.execute(_CLAIM, {"row_id": row.id, "worker_id": worker_id, "lease_until": now + lease})
    return Claimed(
        id=row.id,
        template=row.template,
        to_address=row.to_address or "",
        locale=row.locale,
        payload=row.payload or {},
        message_id=row.message_id,
        attempts=row.attempts + 1,
    )


def _give_up_unknown(session: Session, *, row_id: int, holder: str | None) -> None:
    logger.error(
        "mail %d: worker %s handed it to the SMTP server and stopped before the answer was "
        "recorded; outcome unknown, it is not sent again",
        row_id,
        holder,
    )
    error = f"outcome unknown: worker {holder} stopped after handing it over"
    session.execute(_GIVE_UP_UNKNOWN, {"row_id": row_id, "error": error[:500]})


class ClaimLost(Exception):
    """The worker no longer held the message when it was about to hand it over."""


_HAND_OVER = (
    sa.update(_OUTBOX)
    .where(
        _OUTBOX.c.id == sa.bindparam("row_id"),
        _OUTBOX.c.claimed_by == sa.bindparam("worker_id"),
        _OUTBOX.c.attempts == sa.bindparam("attempt"),
        # A lease already passed could be taken over by another worker at this moment.
        _OUTBOX.c.lease_until > sa.bindparam("at"),
    )
    .values(handed_over_at=sa.bindparam("at"))
)


def hand_over(claimed: Claimed, *, worker_id: str) -> None:
    """Commit that ``claimed`` is leaving the worker's hands (called just before DATA).

    Raises :class:`ClaimLost` when the claim is no longer this worker's (DATA is then
    not sent), and the database's errors.
    """
    with session_scope() as session:
        done = session.execute(
            _HAND_OVER,
            {
                "row_id": claimed.id,
                "worker_id": worker_id,
                "attempt": claimed.attempts,
                "at": utcnow(),
            },
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimLost(f"mail {claimed.id} is no longer held by {worker_id}")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one attempt: sent, or the failure and whether it is final."""

    error: Exception | None = None

    @property
    def is_sent(self) -> bool:
        return self.error is None


def send_claimed(
    claimed: Claimed, *, sender: Sender, settings: Settings, worker_id: str
) -> Outcome:
    """Render and send one claimed message, its hand-over committed just before DATA
    (:func:`hand_over`). The message's and the server's failures are returned; the
    database's, from the hand-over, are raised (DATA is then not sent)."""
    try:
        mime = render.build(
            template=claimed.template,
            to=claimed.to_address,
            locale=claimed.locale,
            payload=claimed.payload,
            sender=settings.mail_from,
            message_id=claimed.message_id,
        )
    except Exception as exc:  # a message that cannot be built now never will be
        logger.exception("mail %d could not be rendered", claimed.id)
        return Outcome(error=PermanentFailure(f"could not be rendered: {type(exc).__name__}"))

    def commit_hand_over() -> None:
        hand_over(claimed, worker_id=worker_id)

    try:
        sender.send(mime, hand_over=commit_hand_over)
    except (TemporaryFailure, PermanentFailure, ClaimLost) as exc:
        return Outcome(error=exc)
    return Outcome()


def _ending(**values: object) -> sa.Update:
    """An UPDATE that ends one claim: only the holder's, of that attempt."""
    return (
        sa.update(_OUTBOX)
        .where(
            _OUTBOX.c.id == sa.bindparam("row_id"),
            _OUTBOX.c.claimed_by == sa.bindparam("worker_id"),
            _OUTBOX.c.attempts == sa.bindparam("attempt"),
        )
        .values(claimed_by=None, lease_until=None, **values)
    )


# The address and the one-time links are not needed once delivered, nor once given up.
_RECORD_SENT = _ending(
    status=OutboxStatus.SENT.value,
    sent_at=sa.bindparam("at"),
    to_address=None,
    payload=None,
    last_error=None,
)
_RECORD_FAILED = _ending(
    status=OutboxStatus.FAILED.value,
    last_error=sa.bindparam("error"),
    to_address=None,
    payload=None,
)
# The server refused or never got the message (it answered, or DATA was not reached):
# the next attempt may hand it over again.
_RECORD_DEFERRED = _ending(
    next_attempt_at=sa.bindparam("at"), last_error=sa.bindparam("error"), handed_over_at=None
)
# The server, not the message, failed: the attempt is not counted against the message
# (an SMTP outage through the night must not give up every queued mail), and it stays
# due; the worker backs off as a whole instead.
_RECORD_RELEASED = _ending(
    attempts=_OUTBOX.c.attempts - 1, last_error=sa.bindparam("error"), handed_over_at=None
)
# Handed over, then no answer (the connection dropped or hung after DATA).
_RECORD_UNKNOWN = _ending(
    status=OutboxStatus.UNKNOWN.value,
    last_error=sa.bindparam("error"),
    to_address=None,
    payload=None,
)


def record(
    session: Session, claimed: Claimed, outcome: Outcome, *, worker_id: str, settings: Settings
) -> bool:
    """Write the outcome of ``claimed``; False if the worker no longer held it.

    Only the holder's own claim is ended (``claimed_by`` and the attempt number), so a
    worker whose lease passed and was taken over cannot overwrite the newer attempt.
    """
    params: dict[str, object] = {
        "row_id": claimed.id,
        "worker_id": worker_id,
        "attempt": claimed.attempts,
    }
    error = outcome.error
    if isinstance(error, ClaimLost):
        logger.warning(
            "mail %d: another worker took it over before this one handed it over", claimed.id
        )
        return False
    if error is None:
        statement = _RECORD_SENT
        params["at"] = utcnow()
    elif isinstance(error, OutcomeUnknown):
        logger.error("mail %d: outcome unknown, it is not sent again: %s", claimed.id, error)
        statement = _RECORD_UNKNOWN
        params["error"] = f"outcome unknown: {error}"[:500]
    elif isinstance(error, ServerUnavailable):
        statement = _RECORD_RELEASED
        params["error"] = str(error)[:500]
    elif isinstance(error, PermanentFailure) or claimed.attempts >= settings.mail_max_attempts:
        logger.error(
            "mail %d failed for good after %d attempts: %s", claimed.id, claimed.attempts, error
        )
        statement = _RECORD_FAILED
        params["error"] = str(error)[:500]
    else:
        logger.warning("mail %d deferred (attempt %d): %s", claimed.id, claimed.attempts, error)
        statement = _RECORD_DEFERRED
        params.update(at=utcnow() + backoff(claimed.attempts), error=str(error)[:500])
    done = session.execute(statement, params)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        logger.warning("mail %d: another worker took it over before this one recorded", claimed.id)
        return False
    return True


class Courier:
    """One worker's sending: claims, sends and records, and remembers an outcome it
    could not record yet (the database went away just after the server accepted the
    message), so that it is recorded first when the database answers again, before the
    lease passes and another worker would send the message a second time."""

    def __init__(self, *, sender: Sender, settings: Settings, worker_id: str) -> None:
        self.sender = sender
        self.settings = settings
        self.worker_id = worker_id
        self.lease = dt.timedelta(seconds=settings.mail_lease_seconds)
        self.unrecorded: tuple[Claimed, Outcome] | None = None

    def record_pending(self) -> None:
        """Record the outcome left over from a database failure (raises while it lasts)."""
        if self.unrecorded is None:
            return
        claimed, outcome = self.unrecorded
        with session_scope() as session:
            record(session, claimed, outcome, worker_id=self.worker_id, settings=self.settings)
        self.unrecorded = None

    def deliver_due(self, *, limit: int = BATCH, stop: threading.Event | None = None) -> int:
        """Send up to ``limit`` due messages, one claim, send and record at a time.

        Returns how many were handled (sent, deferred or failed). Every outcome is
        committed (:func:`petition.db.session_scope`) before the next message is sent,
        so a crash leaves at most the one message in hand unrecorded. ``stop`` is looked
        at between messages, never during one. Raises :class:`ServerUnavailable` after
        releasing the message when the SMTP server fails (:class:`OutcomeUnknown` after
        recording it UNKNOWN when the failure came after DATA), and the database's errors.
        """
        self.record_pending()
        handled = 0

        def more() -> bool:
            return handled < limit and not (stop is not None and stop.is_set())

        if not more():
            return 0
        with session_scope() as session:
            claimed = claim_next(session, worker_id=self.worker_id, lease=self.lease)
        while claimed is not None:
            outcome = send_claimed(
                claimed, sender=self.sender, settings=self.settings, worker_id=self.worker_id
            )
            handled += 1
            self.unrecorded = (claimed, outcome)
            server_down = isinstance(outcome.error, ServerUnavailable)
            # The outcome and the next claim in one transaction: a durable commit is most
            # of a message's cost on PostgreSQL (about 12 ms measured here), and the claim
            # is safe to commit with it (the next message is only leased, not sent).
            with session_scope() as session:
                record(session, claimed, outcome, worker_id=self.worker_id, settings=self.settings)
                claimed = None
                if more() and not server_down:
                    claimed = claim_next(session, worker_id=self.worker_id, lease=self.lease)
            self.unrecorded = None
            if server_down:
                raise outcome.error  # type: ignore[misc]
        return handled


def deliver_due(
    *,
    sender: Sender,
    settings: Settings,
    worker_id: str,
    limit: int = BATCH,
    stop: threading.Event | None = None,
) -> int:
    """Send up to ``limit`` due messages (see :meth:`Courier.deliver_due`)."""
    courier = Courier(sender=sender, settings=settings, worker_id=worker_id)
    return courier.deliver_due(limit=limit, stop=stop)
