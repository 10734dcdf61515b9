"""Sending the outbox: each due message claimed, sent and recorded on its own.

At most once: a worker claims one message at a time with a lease (``claimed_by``,
``lease_until``, committed before it sends), and records the outcome in a transaction
of its own as soon as the SMTP server has answered. A worker killed at any point
leaves every message it had sent recorded as sent; the one in its hands stays claimed
until the lease passes, then another worker sends it again, with the same Message-ID
(made at enqueue) so that a retry after a lost answer can be recognised downstream.

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


def claim_next(session: Session, *, worker_id: str, lease: dt.timedelta) -> Claimed | None:
    """Take the next due message for ``worker_id`` until ``lease`` from now, or None.

    The highest priority level first, and in it the longest due. Each level is read
    along ``ix_outbox_messages_due`` (status, priority, next_attempt_at): the highest
    level still queued, then its first due and unleased row; a level with nothing due
    sends the search one level down. There are a handful of levels, so a pick costs a
    few index probes however many bulk messages wait.
    """
    now = utcnow()
    level = session.execute(_TOP_LEVEL).scalar()
    while True:
        if level is None:
            return None
        row = session.execute(_FIRST_DUE, {"level": level, "now": now}).first()
        if row is not None:
            break
        level = session.execute(_LEVEL_BELOW, {"below": level}).scalar()
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


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one attempt: sent, or the failure and whether it is final."""

    error: Exception | None = None

    @property
    def is_sent(self) -> bool:
        return self.error is None


def send_claimed(claimed: Claimed, *, sender: Sender, settings: Settings) -> Outcome:
    """Render and send one claimed message; failures are returned, not raised."""
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
    try:
        sender.send(mime)
    except (TemporaryFailure, PermanentFailure) as exc:
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
_RECORD_DEFERRED = _ending(next_attempt_at=sa.bindparam("at"), last_error=sa.bindparam("error"))
# The server, not the message, failed: the attempt is not counted against the message
# (an SMTP outage through the night must not give up every queued mail), and it stays
# due; the worker backs off as a whole instead.
_RECORD_RELEASED = _ending(attempts=_OUTBOX.c.attempts - 1, last_error=sa.bindparam("error"))


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
    if error is None:
        statement = _RECORD_SENT
        params["at"] = utcnow()
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
        releasing the message when the SMTP server fails, and the database's errors.
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
            outcome = send_claimed(claimed, sender=self.sender, settings=self.settings)
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
