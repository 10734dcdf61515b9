"""Queue email in the caller's transaction; the worker sends it."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.mail.models import OutboxMessage, OutboxStatus

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


def cancel_queued(session: Session, *, ids: sa.Select[Any] | list[int], reason: str) -> int:
    """Cancel the messages of ``ids`` that still wait to be sent; returns how many.

    They are marked failed with ``reason`` and their address and payload erased, like
    any message that will never be sent. A message already sent is left alone.
    """
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.FAILED, last_error=reason, to_address=None, payload=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def enqueue_many(
    session: Session, *, template: str, messages: list[tuple[str, str, dict[str, Any]]]
) -> list[int]:
    """Write one message per ``(to, locale, payload)`` in one statement; returns their
    ids in the same order (a bulk sender links each recipient to its message)."""
    if not messages:
        return []
    result = session.execute(
        sa.insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
        [
            {"template": template, "to_address": to, "locale": locale, "payload": payload}
            for to, locale, payload in messages
        ],
    )
    return [int(i) for i in result.scalars()]
