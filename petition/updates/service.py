"""Write, send and publish updates to a petition's signers.

An update is written as a draft (a subject and a Markdown body per language),
previewed, then sent: :func:`send` only checks the weekly cap, counts the
recipients and records the audit event, in the request. The worker then writes one
outbox message per recipient in small batches (:mod:`petition.updates.fanout`), so
no request holds a transaction over every signer.

Recipients are the petition's signatures that count (verified, not withdrawn or
invalidated, not held by a moderator) whose signer consented to updates and whose
address no earlier update found undeliverable. Functions here flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition import i18n
from petition.audit import service as audit
from petition.db import utcnow
from petition.i18n import N_
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.petitions import markdown
from petition.petitions.models import Petition, PetitionTranslation
from petition.signing.models import Signature
from petition.updates.models import Update, UpdateDelivery, UpdateKind, UpdateStatus, UpdateText

logger = logging.getLogger(__name__)

SUBJECT_MAX = 200
BODY_MAX = 20_000
# The reason written on an update's message cancelled because its signer unsubscribed
# (petition.updates.unsubscribe); the figures tell it from a refusal.
CANCELLED = "cancelled: the signer unsubscribed"


class UpdateError(i18n.ServiceError, ValueError):
    """An update that cannot be saved or sent as asked; the message says why (shown in
    the reader's language by /admin: ``exc.translated()``)."""

    messages: ClassVar[Mapping[str, str]] = {
        "petition-language-required": N_(
            "the text in the petition's language (%(language)s) is required"
        ),
        "no-such-language": N_("the petition has no text in %(language)s"),
        "subject-and-body": N_("the %(language)s text needs a subject and a body"),
        "too-long": N_("the %(language)s text is too long"),
        "subject-one-line": N_("a subject is one line"),
    }


class TooSoon(UpdateError):
    """The petition had an update less than ``PETITION_UPDATES_MIN_DAYS`` ago."""

    messages: ClassVar[Mapping[str, str]] = {
        "too-soon": N_("the last update was sent on %(last)s"),
    }

    def __init__(self, last_sent_at: dt.datetime, next_at: dt.datetime) -> None:
        super().__init__("too-soon", last=f"{last_sent_at:%Y-%m-%d}")
        self.last_sent_at = last_sent_at
        self.next_at = next_at


class NotADraft(UpdateError):
    """The update was sent already: a sent update never changes."""

    messages: ClassVar[Mapping[str, str]] = {
        "not-a-draft": N_("update %(update)s was sent already"),
    }


@dataclasses.dataclass(frozen=True)
class TextSource:
    subject: str
    body: str


@dataclasses.dataclass(frozen=True)
class DraftSource:
    kind: UpdateKind
    # Language → its text; the petition's own language is required.
    texts: Mapping[str, TextSource]


def languages_of(session: Session, petition: Petition) -> list[str]:
    """The petition's language first, then those its current text is translated into."""
    languages = [petition.language]
    version = petition.current_version
    if version is not None:
        translated = session.scalars(
            sa.select(PetitionTranslation.language)
            .where(
                PetitionTranslation.version_id == version.id,
                PetitionTranslation.source_sha256 == version.sha256,
            )
            .order_by(PetitionTranslation.language)
        )
        languages += [code for code in translated if code != petition.language]
    return languages


def _undeliverable() -> sa.ColumnElement[bool]:
    """An earlier update to this signature failed for good: the server refused it, or
    it still failed after PETITION_MAIL_MAX_ATTEMPTS (not one cancelled on request)."""
    return sa.exists().where(
        UpdateDelivery.signature_id == Signature.id,
        UpdateDelivery.outbox_message_id == OutboxMessage.id,
        OutboxMessage.status == OutboxStatus.FAILED,
        sa.or_(OutboxMessage.last_error.is_(None), OutboxMessage.last_error != CANCELLED),
    )


def recipient_filter(petition_id: int) -> list[sa.ColumnElement[bool]]:
    """Who an update of this petition goes to (see the module's docstring)."""
    return [
        Signature.petition_id == petition_id,
        Signature.counts.expression,
        # The bare column, as the partial index ix_signatures_update_consent is written:
        # SQLite uses a partial index only for a query with the same term (on SQLite
        # "has_update_consent = 1", as the ORM writes it, would not do).
        sa.and_(sa.text("signatures.has_update_consent")),
        Signature.email.is_not(None),
        sa.not_(_undeliverable()),
    ]


def recipient_count(session: Session, *, petition: Petition) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count()).select_from(Signature).where(*recipient_filter(petition.id))
        )
        or 0
    )


def recipients_by_language(session: Session, *, petition: Petition) -> dict[str, int]:
    """How many recipients would get each language (their own, else the petition's)."""
    rows = session.execute(
        sa.select(Signature.locale, sa.func.count())
        .where(*recipient_filter(petition.id))
        .group_by(Signature.locale)
    ).all()
    found: dict[str, int] = {}
    for locale, count in rows:
        language = locale or petition.language
        found[language] = found.get(language, 0) + int(count)
    return found


def _check_source(petition: Petition, source: DraftSource, languages: list[str]) -> None:
    if petition.language not in source.texts:
        raise UpdateError("petition-language-required", language=petition.language)
    for language, text in source.texts.items():
        if language not in languages:
            raise UpdateError("no-such-language", language=language)
        if not text.subject.strip() or not text.body.strip():
            raise UpdateError("subject-and-body", language=language)
        if len(text.subject) > SUBJECT_MAX or len(text.body) > BODY_MAX:
            raise UpdateError("too-long", language=language)
        if any(ch in text.subject for ch in "\r\n"):
            # The subject becomes a mail header.
            raise UpdateError("subject-one-line")


def save_draft(
    session: Session,
    *,
    petition: Petition,
    source: DraftSource,
    actor: str,
    update: Update | None = None,
) -> Update:
    """Write a new draft, or replace a draft's text. Raises :class:`UpdateError`."""
    _check_source(petition, source, languages_of(session, petition))
    if update is None:
        update = Update(petition_id=petition.id, created_by=actor, status=UpdateStatus.DRAFT)
        session.add(update)
    elif update.status != UpdateStatus.DRAFT:
        raise NotADraft("not-a-draft", update=update.id)
    update.kind = source.kind
    update.texts.clear()
    session.flush()
    for language, text in source.texts.items():
        update.texts.append(
            UpdateText(
                language=language,
                subject=text.subject.strip(),
                body_markdown=text.body,
                body_html=markdown.render(text.body),
            )
        )
    session.flush()
    return update


def get(session: Session, *, petition: Petition, update_id: int) -> Update | None:
    return session.scalars(
        sa.select(Update).where(Update.id == update_id, Update.petition_id == petition.id)
    ).one_or_none()


def list_for(session: Session, *, petition: Petition) -> list[Update]:
    """The petition's updates, newest first."""
    return list(
        session.scalars(
            sa.select(Update).where(Update.petition_id == petition.id).order_by(Update.id.desc())
        )
    )


def last_sent(session: Session, *, petition: Petition) -> Update | None:
    return session.scalars(
        sa.select(Update)
        .where(Update.petition_id == petition.id, Update.sent_at.is_not(None))
        .order_by(Update.sent_at.desc())
        .limit(1)
    ).one_or_none()


def next_allowed_at(session: Session, *, petition: Petition, min_days: int) -> dt.datetime | None:
    """When the petition may have its next update without an override (None: now)."""
    last = last_sent(session, petition=petition)
    if last is None or last.sent_at is None:
        return None
    due = last.sent_at + dt.timedelta(days=min_days)
    return due if due > utcnow() else None


def send(
    session: Session,
    *,
    petition: Petition,
    update: Update,
    actor: str,
    min_days: int,
    override_reason: str | None = None,
) -> Update:
    """Send a draft: the worker writes its messages; a response shows on the page at once.

    At most one update per ``min_days``: a sooner one needs ``override_reason``
    (the caller lets only admins give one), kept with the update and in the audit
    log. Raises :class:`TooSoon` or :class:`NotADraft`.
    """
    if update.status != UpdateStatus.DRAFT:
        raise NotADraft("not-a-draft", update=update.id)
    # Lock the petition's row: two organizers pressing "Send" at once must not
    # both pass the cap (the second waits, then sees the first one's sent_at).
    session.execute(
        sa.select(Petition.id).where(Petition.id == petition.id).with_for_update()
    ).one()
    reason = (override_reason or "").strip() or None
    due = next_allowed_at(session, petition=petition, min_days=min_days)
    if due is not None and reason is None:
        last = last_sent(session, petition=petition)
        assert last is not None
        assert last.sent_at is not None
        raise TooSoon(last.sent_at, due)
    count = recipient_count(session, petition=petition)
    now = utcnow()
    update.status = UpdateStatus.SENDING
    update.sent_at = now
    update.sent_by = actor
    update.recipient_count = count
    update.override_reason = reason if due is not None else None
    audit.record(
        session,
        actor=actor,
        action="update.send",
        petition_id=petition.id,
        affected=count,
        reason=update.override_reason,
        details={
            "update_id": update.id,
            "kind": str(update.kind),
            "recipients": count,
            "texts": {
                text.language: {"subject": text.subject, "body": text.body_markdown}
                for text in update.texts
            },
        },
    )
    logger.info("update %d of petition %d sent to %d recipients", update.id, petition.id, count)
    session.flush()
    return update


def public_responses(session: Session, *, petition_id: int, reader: str) -> list[dict[str, Any]]:
    """The addressee's responses for the public page, newest first, in the reader's
    language when written in it."""
    petition_language = session.scalar(
        sa.select(Petition.language).where(Petition.id == petition_id)
    )
    updates = session.scalars(
        sa.select(Update)
        .where(
            Update.petition_id == petition_id,
            Update.kind == UpdateKind.RESPONSE,
            Update.status != UpdateStatus.DRAFT,
        )
        .order_by(Update.sent_at.desc())
    )
    shown = []
    for update in updates:
        text = update.text_in(reader, petition_language or "en")
        if text is None:
            continue
        shown.append(
            {
                "sent_at": update.sent_at,
                "subject": text.subject,
                "body_html": text.body_html,
                "language": text.language,
                "dir": i18n.direction(text.language),
            }
        )
    return shown


@dataclasses.dataclass(frozen=True)
class DeliveryFigures:
    queued: int
    sent: int
    bounced: int
    unsubscribed: int


def delivery_figures(session: Session, *, update: Update) -> DeliveryFigures:
    """How the update's messages stand: waiting, sent, refused; and who unsubscribed
    (by this update's link, or by another's while this one still waited, which
    cancelled it)."""
    state = sa.case(
        (OutboxMessage.last_error == CANCELLED, "cancelled"), else_=OutboxMessage.status
    )
    rows = session.execute(
        sa.select(state, sa.func.count())
        .select_from(UpdateDelivery)
        .join(OutboxMessage, UpdateDelivery.outbox_message_id == OutboxMessage.id)
        .where(UpdateDelivery.update_id == update.id)
        .group_by(state)
    ).all()
    by_state = {str(name): int(count) for name, count in rows}
    by_link = session.scalar(
        sa.select(sa.func.count())
        .select_from(UpdateDelivery)
        .where(UpdateDelivery.update_id == update.id, UpdateDelivery.unsubscribed_at.is_not(None))
    )
    return DeliveryFigures(
        queued=by_state.get(OutboxStatus.QUEUED, 0),
        sent=by_state.get(OutboxStatus.SENT, 0),
        bounced=by_state.get(OutboxStatus.FAILED, 0),
        unsubscribed=int(by_link or 0) + by_state.get("cancelled", 0),
    )
