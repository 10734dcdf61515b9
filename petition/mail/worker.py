"""Sending the outbox: due messages rendered and sent, with retries and backoff.

The loop that runs this (and the fold) is :mod:`petition.worker`. Several workers may
run: on PostgreSQL each claims its messages with ``FOR UPDATE SKIP LOCKED``; SQLite
serializes writers anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.config import Settings
from petition.db import utcnow
from petition.mail import render
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.mail.senders import FileSender, PermanentFailure, Sender, SMTPSender, TemporaryFailure

logger = logging.getLogger(__name__)

BATCH = 50
MAX_BACKOFF = dt.timedelta(hours=1)


def make_sender(settings: Settings) -> Sender:
    if settings.mail_url:
        return SMTPSender(settings.mail_url)
    return FileSender(dev_mail_folder(settings))


def dev_mail_folder(settings: Settings) -> Path:
    return Path(settings.instance_path) / "mail"


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return min(dt.timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_due(session: Session, *, sender: Sender, settings: Settings, limit: int = BATCH) -> int:
    """Send up to ``limit`` due messages; returns how many were handled (sent or failed)."""
    now = utcnow()
    messages = session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    domain = urlsplit(settings.base_url).hostname or "localhost"
    for message in messages:
        message.attempts += 1
        try:
            mime = render.build(
                template=message.template,
                to=message.to_address or "",
                locale=message.locale,
                payload=message.payload or {},
                sender=settings.mail_from,
                domain=domain,
            )
            sender.send(mime)
        except TemporaryFailure as exc:
            if message.attempts >= settings.mail_max_attempts:
                _give_up(message, str(exc))
            else:
                message.next_attempt_at = utcnow() + backoff(message.attempts)
                message.last_error = str(exc)[:500]
                logger.warning(
                    "mail %d deferred (attempt %d): %s", message.id, message.attempts, exc
                )
            continue
        except PermanentFailure as exc:
            _give_up(message, str(exc))
            continue
        message.status = OutboxStatus.SENT
        message.sent_at = utcnow()
        # The address and the one-time links are not needed once delivered.
        message.to_address = None
        message.payload = None
        message.last_error = None
    session.flush()
    return len(messages)


def _give_up(message: OutboxMessage, reason: str) -> None:
    logger.error(
        "mail %d failed for good after %d attempts: %s", message.id, message.attempts, reason
    )
    message.status = OutboxStatus.FAILED
    message.last_error = reason[:500]
    message.to_address = None
    message.payload = None
