"""Why a signature was flagged (stored on the signature, comma-separated); the mails
sent to each mailbox, for the mail limit per mailbox."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column

from petition.db import Base, int_pk
from petition.i18n import register_labels


class FlagReason(enum.StrEnum):
    # More signatures from one address on one petition than people usually send.
    BURST = "burst"
    # The email domain is a throwaway-mailbox provider or on the operator's list.
    DOMAIN = "domain"
    # The field people never see was filled in.
    HONEYPOT = "honeypot"
    # Sent sooner after the form was shown than a person can type it.
    TOO_FAST = "too_fast"
    # The form's signed start time was missing or forged: it was not our page.
    NO_FORM_TIME = "no_form_time"


register_labels(
    "flag_reason",
    FlagReason,
    {
        FlagReason.BURST: lazy_pgettext("flag reason", "burst from one address"),
        FlagReason.DOMAIN: lazy_pgettext("flag reason", "throwaway or listed email domain"),
        FlagReason.HONEYPOT: lazy_pgettext("flag reason", "hidden field filled in"),
        FlagReason.TOO_FAST: lazy_pgettext("flag reason", "sent too fast"),
        FlagReason.NO_FORM_TIME: lazy_pgettext("flag reason", "not sent from our form"),
    },
)


def join_reasons(reasons: Iterable[FlagReason]) -> str | None:
    """The stored form: sorted, comma-separated, or NULL when nothing was flagged."""
    unique = sorted({str(reason) for reason in reasons})
    return ",".join(unique) or None


def split_reasons(stored: str | None) -> list[FlagReason]:
    return [FlagReason(part) for part in (stored or "").split(",") if part]


class MailboxMail(Base):
    """One mail sent (queued) to a mailbox because someone signed with its address.

    The mailbox is a keyed hash of its canonical address (not reversible without the
    server's key); rows older than the limit's longest window are purged. See
    :mod:`petition.abuse.mailbox`.
    """

    __tablename__ = "mailbox_mails"
    __table_args__ = (sa.Index("ix_mailbox_mails_mailbox_hash_sent_at", "mailbox_hash", "sent_at"),)

    id: Mapped[int_pk]
    mailbox_hash: Mapped[str] = mapped_column(sa.String(64))
    sent_at: Mapped[dt.datetime] = mapped_column(index=True)
