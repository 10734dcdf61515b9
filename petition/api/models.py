"""Partner keys for the signatures API."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.db import Base, created_at, int_pk
from petition.petitions.models import Petition


class ApiKey(Base):
    """A partner organization's key for one petition. Only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int_pk]
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"), index=True)
    # Who the key was given to, as the organizer named them; recorded with each signature.
    name: Mapped[str] = mapped_column(sa.String(100))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]

    petition: Mapped[Petition] = relationship(lazy="joined")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
