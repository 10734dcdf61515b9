"""Queue email in the caller's transaction; the worker sends it."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.mail.models import OutboxMessage

logger = logging.getLogger(__name__)


def enqueue(
    session: Session, *, template: str, to: str, locale: str, payload: dict[str, Any]
) -> None:
    """Write a message to the outbox. It is sent only if the caller's transaction commits."""
    # A plain INSERT: this runs on every signature, and the unit of work adds nothing here.
    session.execute(
        sa.insert(OutboxMessage).values(
            template=template, to_address=to, locale=locale, payload=payload
        )
    )
