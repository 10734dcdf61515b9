"""Petitions and the immutable versions of their text."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.db import Base, created_at, int_pk, str_enum, utcnow
from petition.i18n import register_labels


class PetitionStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    DELIVERED = "delivered"


register_labels(
    "petition_status",
    PetitionStatus,
    {
        PetitionStatus.DRAFT: lazy_pgettext("petition status", "draft"),
        PetitionStatus.OPEN: lazy_pgettext("petition status", "open"),
        PetitionStatus.CLOSED: lazy_pgettext("petition status", "closed"),
        PetitionStatus.DELIVERED: lazy_pgettext("petition status", "delivered"),
    },
)


class Petition(Base):
    __tablename__ = "petitions"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'closed', 'delivered')", name="status_known"
        ),
        sa.CheckConstraint("signature_count >= 0", name="count_not_negative"),
    )

    id: Mapped[int_pk]
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    addressed_to: Mapped[str] = mapped_column(sa.String(300), default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    status: Mapped[PetitionStatus] = mapped_column(
        str_enum(PetitionStatus),
        default=PetitionStatus.DRAFT,
    )
    goal: Mapped[int | None]
    opened_at: Mapped[dt.datetime | None]
    closes_at: Mapped[dt.datetime | None]
    # Folded in by the worker (see petition.signing.counts.fold_counts); pages and
    # the API read it instead of counting signatures.
    signature_count: Mapped[int] = mapped_column(default=0)
    # The highest sequence number given to a counted signature of this petition.
    last_sequence: Mapped[int] = mapped_column(default=0)
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("petition_versions.id", use_alter=True)
    )
    # Which sites may frame the widget: origins separated by spaces, used as the CSP
    # frame-ancestors source list. NULL lets any site embed it (spreading the
    # petition is the point); an empty string lets none.
    embed_origins: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    current_version: Mapped[PetitionVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )

    @property
    def is_open(self) -> bool:
        if self.status != PetitionStatus.OPEN:
            return False
        return self.closes_at is None or self.closes_at > utcnow()


class PetitionVersion(Base):
    """The text exactly as signers were shown it; never changed once written."""

    __tablename__ = "petition_versions"
    __table_args__ = (sa.UniqueConstraint("petition_id", "number"),)

    id: Mapped[int_pk]
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body_markdown: Mapped[str] = mapped_column(sa.Text)
    # Rendered and sanitized once when the version is written, not on every view.
    body_html: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]


class PetitionCountryCount(Base):
    """Verified signatures of a petition per country, folded in with the total.

    The API's country breakdown reads these few rows instead of grouping all
    signatures, which would scan the petition on every request.
    """

    __tablename__ = "petition_country_counts"
    __table_args__ = (sa.CheckConstraint("signature_count >= 0", name="count_not_negative"),)

    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"), primary_key=True)
    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    signature_count: Mapped[int] = mapped_column(default=0)


class PetitionHourlyCount(Base):
    """Signatures the fold counted (and stopped counting) per petition and UTC hour.

    Folded with the total, so activity figures (the last day, the count over time) read
    a few rows instead of scanning signatures. The hour is when the fold counted them.
    """

    __tablename__ = "petition_hourly_counts"

    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(primary_key=True)
    counted: Mapped[int] = mapped_column(default=0)
    uncounted: Mapped[int] = mapped_column(default=0)


class PetitionDailyFigures(Base):
    """What happened to a petition's signatures per UTC day, as counts only.

    ``signed`` (signatures made; ``held`` of them came in flagged and waited for a
    moderator), ``confirmed`` and ``withdrawn`` are tallied by the fold from each
    signature's own timestamps (:func:`petition.signing.figures.tally`), so signing and
    confirming write nothing more. Moderators' decisions are added where they are made
    (:mod:`petition.moderation.service`): ``released``, ``invalidated`` (per rule in
    :class:`PetitionDailyInvalidation`) and ``held`` again by an undo. The counts the
    fold took and lost per day are the hourly rows'.
    """

    __tablename__ = "petition_daily_figures"

    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    signed: Mapped[int] = mapped_column(default=0)
    confirmed: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    released: Mapped[int] = mapped_column(default=0)
    invalidated: Mapped[int] = mapped_column(default=0)
    withdrawn: Mapped[int] = mapped_column(default=0)


class PetitionDailyInvalidation(Base):
    """Signatures a moderator invalidated per UTC day and flag rule (counts only).

    A signature flagged by two rules counts under both; the day's total is
    :attr:`PetitionDailyFigures.invalidated`.
    """

    __tablename__ = "petition_daily_invalidations"

    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    invalidated: Mapped[int] = mapped_column(default=0)


class PetitionTranslation(Base):
    """A version's text in another language, for readers of that language.

    It belongs to one version: signers still sign (and exports still carry) the
    version itself. It records the SHA-256 of the text it was made from, so a
    translation is shown only while the version still reads exactly that way
    (a version nobody has signed yet may be corrected in place).
    """

    __tablename__ = "petition_translations"
    __table_args__ = (sa.UniqueConstraint("version_id", "language"),)

    id: Mapped[int_pk]
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("petition_versions.id"))
    language: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    addressed_to: Mapped[str] = mapped_column(sa.String(300), default="")
    body_markdown: Mapped[str] = mapped_column(sa.Text)
    # Rendered and sanitized once when written, like the version's own text.
    body_html: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    source_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    version: Mapped[PetitionVersion] = relationship()
