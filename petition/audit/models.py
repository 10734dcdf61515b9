"""Audit events: append-only, written in the transaction of the action they record."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from petition.db import Base, created_at, int_pk


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_petition_id_created_at", "petition_id", "created_at"),
    )

    id: Mapped[int_pk]
    created_at: Mapped[created_at]
    # Who acted: "user:<id>" for an organizer in the browser, "cli:<login>" for a command.
    actor: Mapped[str] = mapped_column(sa.String(200))
    # What was done, a verb from the domain's vocabulary: "flags.release", "export.batch", …
    action: Mapped[str] = mapped_column(sa.String(64))
    petition_id: Mapped[int | None] = mapped_column(sa.ForeignKey("petitions.id"))
    # How many signatures an action touched, and any further facts (never personal data).
    affected: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.Text)
