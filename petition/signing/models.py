"""Signatures: who signed which version, and where their confirmation stands."""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_pgettext
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from petition.db import Base, created_at, int_pk, str_enum
from petition.i18n import register_labels


class SignatureStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    INVALIDATED = "invalidated"
    WITHDRAWN = "withdrawn"


class SignatureSource(enum.StrEnum):
    PAGE = "page"
    WIDGET = "widget"
    API = "api"
    IMPORT = "import"


register_labels(
    "signature_status",
    SignatureStatus,
    {
        SignatureStatus.PENDING: lazy_pgettext("signature status", "pending"),
        SignatureStatus.VERIFIED: lazy_pgettext("signature status", "verified"),
        SignatureStatus.INVALIDATED: lazy_pgettext("signature status", "invalidated"),
        SignatureStatus.WITHDRAWN: lazy_pgettext("signature status", "withdrawn"),
    },
)
register_labels(
    "signature_source",
    SignatureSource,
    {
        SignatureSource.PAGE: lazy_pgettext("signature source", "petition page"),
        SignatureSource.WIDGET: lazy_pgettext("signature source", "widget on another site"),
        SignatureSource.API: lazy_pgettext("signature source", "partner API"),
        SignatureSource.IMPORT: lazy_pgettext("signature source", "import"),
    },
)


# The one rule of counting: a signature counts when it has these values (verified,
# and no moderator holds it). Its SQL and Python forms are made from this definition
# below; petition.signing.counts (the fold, the recount, the public list), the
# dashboards and the fold's partial index all use them. It lives beside the table
# because the table's index is made from it.
COUNTS_WHEN: tuple[tuple[str, str | bool], ...] = (
    ("status", SignatureStatus.VERIFIED.value),
    ("is_held", False),
)


def _is(column: sa.ColumnElement[Any], value: str | bool) -> sa.ColumnElement[bool]:
    if value is True:
        return column.is_(True)
    if value is False:
        return sa.not_(column)
    return column == value


def row_counts(row: Any) -> bool:
    """The rule in Python, for a signature or any row with its columns."""
    return all(getattr(row, name) == value for name, value in COUNTS_WHEN)


def _counts_text() -> str:
    """The rule as SQL text over bare column names, as the partial index is written."""
    rule = sa.and_(*(_is(sa.column(name), value) for name, value in COUNTS_WHEN))
    # Bare, untyped columns render NOT is_held on every database, as the index was created.
    return str((rule != sa.column("is_counted")).compile(compile_kwargs={"literal_binds": True}))


# Signatures whose counted state differs from the rule: verified but not yet counted,
# or counted but since withdrawn, invalidated or held. The fold reads exactly this
# text, so SQLite matches it to the partial index ix_signatures_fold_pending.
NEEDS_FOLD = _counts_text()


RECEIPT_ID_BYTES = 16


def new_receipt_id() -> str:
    """A random receipt id: 16 bytes, as 32 hex digits."""
    return secrets.token_hex(RECEIPT_ID_BYTES)


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (
        # One signature per person and petition, also when two submits race.
        sa.UniqueConstraint("petition_id", "canonical_email"),
        sa.CheckConstraint(
            "status IN ('pending', 'verified', 'invalidated', 'withdrawn')", name="status_known"
        ),
        sa.CheckConstraint("source IN ('page', 'widget', 'api', 'import')", name="source_known"),
        # The fold finds what changed since it last ran without scanning the petition:
        # rows whose "should count" (verified and not held) differs from is_counted.
        sa.Index(
            "ix_signatures_fold_pending",
            "petition_id",
            sqlite_where=sa.text(NEEDS_FOLD),
            postgresql_where=sa.text(NEEDS_FOLD),
        ),
        sa.Index("ix_signatures_petition_id_verified_at", "petition_id", "verified_at"),
        # The daily figures' tally reads confirmations and withdrawals past its cursor
        # (petition.signing.figures); partial, so a new pending signature costs nothing.
        sa.Index(
            "ix_signatures_verified_at_id",
            "verified_at",
            "id",
            sqlite_where=sa.text("verified_at IS NOT NULL"),
            postgresql_where=sa.text("verified_at IS NOT NULL"),
        ),
        sa.Index(
            "ix_signatures_withdrawn_at_id",
            "withdrawn_at",
            "id",
            sqlite_where=sa.text("withdrawn_at IS NOT NULL"),
            postgresql_where=sa.text("withdrawn_at IS NOT NULL"),
        ),
        # Moderation lists a petition's held signatures; they are few.
        sa.Index(
            "ix_signatures_held",
            "petition_id",
            "created_at",
            sqlite_where=sa.text("is_held"),
            postgresql_where=sa.text("is_held"),
        ),
        # Export batches read a petition's counted signatures in sequence order.
        sa.Index("ix_signatures_petition_id_sequence", "petition_id", "sequence"),
        # An update's fan-out walks a petition's consenting signers in id order, a
        # batch at a time (petition.updates.fanout): without it each batch sorted
        # every remaining signature of the petition.
        sa.Index(
            "ix_signatures_update_consent",
            "petition_id",
            "id",
            sqlite_where=sa.text("has_update_consent"),
            postgresql_where=sa.text("has_update_consent"),
        ),
        # The delivery mail's fan-out (petition.export.notices) walks a delivered
        # batch's consenting signers in sequence order; only they are in it.
        sa.Index(
            "ix_signatures_delivery_consent",
            "petition_id",
            "sequence",
            sqlite_where=sa.text("has_delivery_consent"),
            postgresql_where=sa.text("has_delivery_consent"),
        ),
    )

    id: Mapped[int_pk]
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("petition_versions.id"))
    # Personal data: set to NULL when the signer withdraws.
    name: Mapped[str | None] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    canonical_email: Mapped[str | None] = mapped_column(sa.String(320))
    postcode: Mapped[str | None] = mapped_column(sa.String(16))
    country: Mapped[str] = mapped_column(sa.String(2))
    is_public: Mapped[bool] = mapped_column(default=False)
    has_update_consent: Mapped[bool] = mapped_column(default=False)
    # "Mail me once when a batch holding my signature is delivered": cleared when that
    # mail is queued (so never a second one, whatever batch holds it next) and at
    # withdrawal.
    has_delivery_consent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The language the signer read the page in: updates reach them in it (NULL for
    # signatures from before it was kept: they get the petition's language).
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[SignatureStatus] = mapped_column(
        str_enum(SignatureStatus), default=SignatureStatus.PENDING
    )
    source: Mapped[SignatureSource] = mapped_column(
        str_enum(SignatureSource), default=SignatureSource.PAGE
    )
    source_origin: Mapped[str | None] = mapped_column(sa.String(300))
    # HMAC of the client address with a server key: groups abuse, cannot be reversed
    # without the key, and is purged after a retention period.
    ip_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # While pending: when its last confirmation link expires (the links themselves are
    # SignatureLink rows); the purge deletes a pending signature after it.
    confirm_expires_at: Mapped[dt.datetime | None]
    # Why the signature was flagged when it came in (petition.abuse.models.FlagReason,
    # comma-separated), kept after a moderator decided.
    flag_reasons: Mapped[str | None] = mapped_column(sa.String(100))
    # Flagged and not yet released: once verified it waits instead of counting.
    is_held: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    released_at: Mapped[dt.datetime | None]
    is_counted: Mapped[bool] = mapped_column(default=False)
    sequence: Mapped[int | None]
    # Written into the signature's row of every batch (petition.export.merkle): the
    # sibling hashes in someone else's receipt then cannot be matched against guessed
    # names. Random, not derived from anything, and not secret once delivered. No
    # unique index: 128 random bits do not collide, and the sign path pays per index.
    receipt_id: Mapped[str] = mapped_column(sa.String(32), default=new_receipt_id)
    created_at: Mapped[created_at]
    verified_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]

    @hybrid_property
    def counts(self) -> bool:
        """Whether this signature counts (:data:`COUNTS_WHEN`); in SQL, the same rule."""
        return row_counts(self)

    @counts.inplace.expression
    @classmethod
    def _counts_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(*(_is(getattr(cls, name), value) for name, value in COUNTS_WHEN))


class LinkPurpose(enum.StrEnum):
    CONFIRM = "confirm"
    WITHDRAW = "withdraw"


class SignatureLink(Base):
    """One link mailed to a signer: only the SHA-256 of its token is kept.

    A signature has as many links as mails were sent for it (signing again adds
    links, never replaces them), so whoever types a signer's address into the form
    cannot break the links in the signer's earlier mails: each works until it is
    used or expires. Confirm links expire; withdraw links do not (``expires_at``
    NULL), so a signer can withdraw years later.
    """

    __tablename__ = "signature_links"
    __table_args__ = (
        sa.CheckConstraint("purpose IN ('confirm', 'withdraw')", name="purpose_known"),
    )

    id: Mapped[int_pk]
    signature_id: Mapped[int] = mapped_column(
        sa.ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]


class FiguresCursor(Base):
    """How far the fold has tallied signatures into the daily figures, per event.

    ``signed`` follows signature ids; ``confirmed`` and ``withdrawn`` follow
    ``(verified_at, id)`` and ``(withdrawn_at, id)`` along their partial indexes. Each
    tally reads only the rows past its cursor (petition.signing.figures).
    """

    __tablename__ = "figures_cursors"
    __table_args__ = (
        sa.CheckConstraint("event IN ('signed', 'confirmed', 'withdrawn')", name="event_known"),
    )

    event: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    through_at: Mapped[dt.datetime | None]
    through_id: Mapped[int] = mapped_column(default=0)
