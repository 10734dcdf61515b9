"""Recording and reading audit events."""

from __future__ import annotations

import getpass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.audit.models import AuditEvent


def cli_actor() -> str:
    """The actor name for a command run by an operator on the server."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    petition_id: int | None = None,
    affected: int = 0,
    details: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction: it lands with the action or not at all."""
    event = AuditEvent(
        actor=actor,
        action=action,
        petition_id=petition_id,
        affected=affected,
        details=details,
        reason=reason,
    )
    session.add(event)
    session.flush()
    return event


def events(
    session: Session, *, petition_id: int | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest events, for one petition or for the whole site."""
    query = sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if petition_id is not None:
        query = query.where(AuditEvent.petition_id == petition_id)
    return list(session.scalars(query))
