"""Queue email in the caller's transaction; the worker sends it."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy.orm import Session

from petition.config import current_settings
from petition.mail.models import MailPriority, OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)


# Built once: this runs on every signature, the unit of work adds nothing here, and
# a statement built per call spent more time on its cache key than on the insert.
_INSERT = sa.insert(OutboxMessage.__table__)  # type: ignore[arg-type]


def enqueue(
    session: Session,
    *,
    template: str,
    to: str,
    locale: str,
    payload: dict[str, Any],
    priority: int = MailPriority.NORMAL,
) -> None:
    """Write a message to the outbox. It is sent only if the caller's transaction commits.

    ``priority`` orders due messages (:class:`MailPriority`: ``HIGH`` for mail a signer
    waits for, ``BULK`` for news to many). The Message-ID is fixed here, once, so
    every attempt to send the message carries the same one.
    """
    session.execute(
        _INSERT,
        {
            "template": template,
            "to_address": to,
            "locale": locale,
            "payload": payload,
            "priority": int(priority),
            "message_id": new_message_id(),
        },
    )


def new_message_id() -> str:
    """A globally unique Message-ID in the service's own domain (``PETITION_BASE_URL``)."""
    domain = "localhost"
    if has_app_context():
        domain = urlsplit(current_settings().base_url).hostname or domain
    # 128 random bits: unique without a counter or the host's name in the header.
    return f"<{secrets.token_hex(16)}@{domain}>"


def cancel_queued(session: Session, *, ids: sa.Select[Any] | list[int], reason: str) -> int:
    """Cancel the messages of ``ids`` that still wait to be sent; returns how many.

    They are marked failed with ``reason`` and their address and payload erased, like
    any message that will never be sent. A message already sent is left alone; one a
    worker holds at this moment keeps its claim, so that if it does go out, the
    worker's record of it (mail.worker, which ends only its own claim) says "sent".
    """
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.FAILED, last_error=reason, to_address=None, payload=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def enqueue_many(
    session: Session,
    *,
    template: str,
    messages: list[tuple[str, str, dict[str, Any]]],
    priority: int = MailPriority.BULK,
) -> list[int]:
    """Write one message per ``(to, locale, payload)`` in one statement; returns their
    ids in the same order (a bulk sender links each recipient to its message).

    ``BULK`` by default: mail to many waits behind every message a person waits for.
    """
    if not messages:
        return []
    result = session.execute(
        sa.insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
        [
            {
                "template": template,
                "to_address": to,
                "locale": locale,
                "payload": payload,
                "priority": int(priority),
                "message_id": new_message_id(),
            }
            for to, locale, payload in messages
        ],
    )
    return [int(i) for i in result.scalars()]
