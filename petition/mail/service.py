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
from petition.mail.models import MailPriority, OutboxMessage

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
