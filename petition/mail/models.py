"""The transactional outbox: every email, written with the change that causes it."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from petition.db import Base, created_at, int_pk, str_enum, utcnow


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    # Handed to the SMTP server by a worker that died (or lost the connection) before
    # the server's answer was recorded: it may have gone out, so it is never sent again.
    UNKNOWN = "unknown"


class MailPriority(enum.IntEnum):
    """Which due message a worker takes first (higher first, then the longest due)."""

    BULK = 0  # news to many signers: waits behind everything a person is waiting for
    NORMAL = 50
    HIGH = 100  # a signer is waiting for it: confirmation, "already signed"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'unknown')", name="status_known"
        ),
        # The worker's pick (mail.worker), read in index order: each priority level
        # from the highest, the longest due first, so a bulk send of many thousands is
        # never sorted per pick.
        sa.Index("ix_outbox_messages_due", "status", "priority", "next_attempt_at"),
    )

    id: Mapped[int_pk]
    template: Mapped[str] = mapped_column(sa.String(50))
    # Recipient and payload (which may carry a one-time link) are erased once sent.
    to_address: Mapped[str | None] = mapped_column(sa.String(320))
    locale: Mapped[str] = mapped_column(sa.String(16), default="en")
    payload: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus),
        default=OutboxStatus.QUEUED,
    )
    priority: Mapped[int] = mapped_column(default=MailPriority.NORMAL, server_default="50")
    # The Message-ID header, made at enqueue and kept through every retry, so that a
    # message sent again after a lost answer can be recognised downstream.
    message_id: Mapped[str] = mapped_column(sa.String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The worker that holds the message while it sends it, and until when: a message
    # whose worker died is taken again once the lease has passed, never lost.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    lease_until: Mapped[dt.datetime | None]
    # Committed just before the SMTP DATA of the holder's attempt (cleared when the server
    # refuses it): a message whose lease passed with this set may have been accepted, so it
    # becomes UNKNOWN instead of being sent again.
    handed_over_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[created_at]
    sent_at: Mapped[dt.datetime | None]


class WorkerHeartbeat(Base):
    """Each running worker's last sign of life, for ``petition status`` and /readyz readers.

    Written by the worker's database thread every few seconds; ``mail_at`` is when its
    mail loop last finished a pass (it may wait on SMTP up to a send timeout), and
    ``folded_at`` when its fold last ran. A worker that stops cleanly removes its row.
    """

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    started_at: Mapped[dt.datetime]
    beat_at: Mapped[dt.datetime]
    mail_at: Mapped[dt.datetime | None]
    folded_at: Mapped[dt.datetime | None]
