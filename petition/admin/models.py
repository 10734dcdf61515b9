"""Accounts of the people who run petitions, and which petitions each may run."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.db import Base, created_at, int_pk, str_enum
from petition.i18n import register_labels
from petition.petitions.models import Petition


class UserRole(enum.StrEnum):
    # Admins manage accounts and see every petition.
    ADMIN = "admin"
    # Organizers see and run the petitions they were given (or created).
    ORGANIZER = "organizer"


register_labels(
    "user_role",
    UserRole,
    {
        UserRole.ADMIN: lazy_pgettext("account role", "admin"),
        UserRole.ORGANIZER: lazy_pgettext("account role", "organizer"),
    },
)


user_petitions = sa.Table(
    "user_petitions",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("petition_id", sa.ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'organizer')", name="role_known"),)

    id: Mapped[int_pk]
    # Stored lower-cased and trimmed: one account per mailbox, looked up exactly.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    # argon2id, in the PHC string format (parameters travel with the hash).
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole), default=UserRole.ORGANIZER)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Base32 TOTP secret once the second factor is set up; NULL without one.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # The last TOTP time step accepted: a code seen once is never accepted again.
    totp_last_step: Mapped[int | None]
    # Every browser session carries this value; logging out (or a password change)
    # replaces it, which ends every session of the account on the server's side.
    session_nonce: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]
    last_login_at: Mapped[dt.datetime | None]

    petitions: Mapped[list[Petition]] = relationship(secondary=user_petitions, lazy="selectin")

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None

    @property
    def actor(self) -> str:
        """How the audit log names this account."""
        return f"user:{self.id}"
