"""Queue email in the caller's transaction; the worker sends it."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from petition.mail.models import OutboxMessage

logger = logging.getLogger(__name__)


def enqueue(
    session: Session, *, template: str, to: str, locale: str, payload: dict[str, Any]
) -> OutboxMessage:
    """Write a message to the outbox. It is sent only if the caller's transaction commits."""
    message = OutboxMessage(template=template, to_address=to, locale=locale, payload=payload)
    session.add(message)
    session.flush()
    return message
