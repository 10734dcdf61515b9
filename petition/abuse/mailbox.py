"""The mail limit per mailbox, kept in the database.

This limit protects a third party: the owner of an address that anyone may type into
the form. It must be exact across processes and machines whatever the limiter's store
(with ``memory://`` and two gunicorn workers, 20 simultaneous signatures with one
address sent 6 mails through a 3/hour limit: each process counted alone). So each
mail to a mailbox is a row (a keyed hash of the canonical address, and when), counted
and written in the transaction that writes the outbox row: a mail not queued is not
counted, and a counted one is queued.

Concurrent attempts for one mailbox take turns: PostgreSQL with a transaction-scoped
advisory lock on the mailbox, SQLite because every writing transaction begins with
``BEGIN IMMEDIATE`` (petition.db). Attempts for other mailboxes do not wait.

The windows are sliding (the last hour, the last day), not fixed buckets. Rows older
than the longest window are purged by ``flask petition purge``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import cast

import sqlalchemy as sa
from limits import parse_many
from sqlalchemy.orm import Session

from petition.abuse.models import MailboxMail
from petition.addresses import keyed_hash
from petition.db import utcnow

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=16)
def windows(limits: str) -> tuple[tuple[int, dt.timedelta], ...]:
    """``"3/hour;10/day"`` as (amount, window) pairs, shortest window first."""
    parsed = sorted(parse_many(limits))
    return tuple((item.amount, dt.timedelta(seconds=item.get_expiry())) for item in parsed)


def mailbox_hash(secret_key: str, canonical_email: str) -> str:
    return keyed_hash((secret_key + ":mail-limit").encode(), canonical_email)


@functools.lru_cache(maxsize=16)
def _take_statement(limits: str) -> sa.Insert:
    """``INSERT … SELECT :mailbox, :now WHERE <every window of limits has room>
    RETURNING id``: the count and the row in one statement (on SQLite, under its write
    lock, nothing else runs in between; on PostgreSQL, the advisory lock before it).
    Each window is an indexed range count over (mailbox_hash, sent_at)."""
    table = cast(sa.Table, MailboxMail.__table__)
    sent_at = table.c.sent_at.type
    room = [
        sa.select(sa.func.count())
        .where(
            table.c.mailbox_hash == sa.bindparam("mailbox"),
            table.c.sent_at > sa.bindparam(f"since_{n}", type_=sent_at),
        )
        .scalar_subquery()
        < amount
        for n, (amount, _) in enumerate(windows(limits))
    ]
    return (
        sa.insert(table)
        .from_select(
            ["mailbox_hash", "sent_at"],
            sa.select(
                sa.bindparam("mailbox", type_=table.c.mailbox_hash.type),
                sa.bindparam("now", type_=sent_at),
            ).where(*room),
        )
        .returning(table.c.id)
    )


def _take_turn(session: Session, mailbox: str) -> None:
    """Wait for other transactions counting mails to this mailbox (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        # 64 bits of the keyed hash name the lock; it ends with the transaction.
        key = int.from_bytes(bytes.fromhex(mailbox[:16]), "big", signed=True)
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def allow_mail(
    session: Session,
    *,
    canonical_email: str,
    limits: str,
    secret_key: str,
    now: dt.datetime | None = None,
) -> bool:
    """Count one mail to the mailbox of ``canonical_email`` if every window of
    ``limits`` has room for it; False (and nothing written) when one is full.

    Call it in the transaction that queues the mail; the caller then queues it.
    """
    now = now or utcnow()
    mailbox = mailbox_hash(secret_key, canonical_email)
    _take_turn(session, mailbox)
    since = {f"since_{n}": now - span for n, (_, span) in enumerate(windows(limits))}
    taken = session.execute(_take_statement(limits), {"mailbox": mailbox, "now": now, **since})
    return taken.scalar_one_or_none() is not None


def purge(session: Session, *, limits: str, now: dt.datetime | None = None) -> int:
    """Delete the mails older than the longest window of ``limits``; returns how many."""
    before = (now or utcnow()) - windows(limits)[-1][1]
    result = session.execute(sa.delete(MailboxMail).where(MailboxMail.sent_at < before))
    return int(cast("sa.CursorResult[object]", result).rowcount)
