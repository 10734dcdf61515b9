"""Updates, their text in each language, and who each one was queued for."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petition.db import Base, created_at, int_pk, str_enum, utcnow


class UpdateKind(enum.StrEnum):
    # The organizers' news (delivered, a debate date, a next step).
    NEWS = "news"
    # What the addressee answered: also shown, dated, on the public petition page.
    RESPONSE = "response"


class UpdateStatus(enum.StrEnum):
    DRAFT = "draft"
    # Sent by the organizer: the worker is writing one outbox message per recipient.
    SENDING = "sending"
    # Every recipient has their message in the outbox.
    SENT = "sent"


class Update(Base):
    __tablename__ = "updates"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('news', 'response')", name="kind_known"),
        sa.CheckConstraint("status IN ('draft', 'sending', 'sent')", name="status_known"),
        sa.Index("ix_updates_petition_id_sent_at", "petition_id", "sent_at"),
    )

    id: Mapped[int_pk]
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"))
    kind: Mapped[UpdateKind] = mapped_column(str_enum(UpdateKind), default=UpdateKind.NEWS)
    status: Mapped[UpdateStatus] = mapped_column(str_enum(UpdateStatus), default=UpdateStatus.DRAFT)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When the organizer pressed "Send" (the public date of a response).
    sent_at: Mapped[dt.datetime | None]
    sent_by: Mapped[str | None] = mapped_column(sa.String(100))
    # Why an admin sent it before PETITION_UPDATES_MIN_DAYS had passed.
    override_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Recipients counted when it was sent, and how many have a message queued so far.
    recipient_count: Mapped[int] = mapped_column(default=0)
    queued_count: Mapped[int] = mapped_column(default=0)
    # The fan-out's cursor: every recipient with a signature id up to this one has
    # its message. It moves in the same transaction as the messages it covers, so a
    # worker killed halfway resumes after the last batch that committed.
    fanout_after_id: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[dt.datetime | None]

    texts: Mapped[list[UpdateText]] = relationship(
        back_populates="update", order_by="UpdateText.id", cascade="all, delete-orphan"
    )

    def text_in(self, language: str, fallback: str) -> UpdateText | None:
        """The text in ``language``, else in ``fallback`` (the petition's language)."""
        by_language = {text.language: text for text in self.texts}
        return by_language.get(language) or by_language.get(fallback)


class UpdateText(Base):
    """An update in one language: a subject and a Markdown body, rendered once."""

    __tablename__ = "update_texts"
    __table_args__ = (sa.UniqueConstraint("update_id", "language"),)

    id: Mapped[int_pk]
    update_id: Mapped[int] = mapped_column(sa.ForeignKey("updates.id"))
    language: Mapped[str] = mapped_column(sa.String(16))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_markdown: Mapped[str] = mapped_column(sa.Text)
    # Sanitized like petition texts (petition.petitions.markdown) when written.
    body_html: Mapped[str] = mapped_column(sa.Text)

    update: Mapped[Update] = relationship(back_populates="texts")


class UpdateDelivery(Base):
    """One recipient of one update: the outbox message made for them, and its
    unsubscribe link (only its SHA-256 is kept, like every link mailed)."""

    __tablename__ = "update_deliveries"
    __table_args__ = (
        # Nobody gets an update twice, whatever a resumed fan-out does.
        sa.UniqueConstraint("update_id", "signature_id"),
        sa.Index("ix_update_deliveries_signature_id", "signature_id"),
        sa.Index("ix_update_deliveries_outbox_message_id", "outbox_message_id"),
    )

    id: Mapped[int_pk]
    update_id: Mapped[int] = mapped_column(sa.ForeignKey("updates.id"))
    signature_id: Mapped[int] = mapped_column(sa.ForeignKey("signatures.id"))
    # No foreign key: the outbox is the mail domain's, which may purge its rows.
    outbox_message_id: Mapped[int | None]
    unsubscribe_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unsubscribed_at: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]
