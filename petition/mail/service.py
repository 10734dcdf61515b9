"""Queue email in the caller's transaction; the worker sends it."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.mail.models import OutboxMessage

logger = logging.getLogger(__name__)


# Built once: this runs on every signature, the unit of work adds nothing here, and
# a statement built per call spent more time on its cache key than on the insert.
_INSERT = sa.insert(OutboxMessage.__table__)  # type: ignore[arg-type]


def enqueue(
    session: Session, *, template: str, to: str, locale: str, payload: dict[str, Any]
) -> None:
    """Write a message to the outbox. It is sent only if the caller's transaction commits."""
    session.execute(
        _INSERT, {"template": template, "to_address": to, "locale": locale, "payload": payload}
    )
