"""Writing and sending updates: who they go to, the texts, the weekly cap, the audit."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.petitions.models import Petition
from petition.updates import service as updates
from petition.updates.models import Update, UpdateKind, UpdateStatus
from tests.updates.conftest import SLUG, Signers

EN = updates.TextSource(subject="Delivered", body="We **delivered** it.")
AR = updates.TextSource(subject="سُلِّمت العريضة", body="سلّمنا العريضة.")


def _petition(session) -> Petition:  # type: ignore[no-untyped-def]
    return session.scalars(sa.select(Petition).where(Petition.slug == SLUG)).one()


def _draft(app: Flask, kind: UpdateKind = UpdateKind.NEWS, **texts: updates.TextSource) -> int:
    with app.app_context(), session_scope() as session:
        draft = updates.save_draft(
            session,
            petition=_petition(session),
            source=updates.DraftSource(kind=kind, texts=texts or {"en": EN, "ar": AR}),
            actor="user:1",
        )
        return draft.id


def _send(app: Flask, update_id: int, *, reason: str | None = None) -> Update:
    with app.app_context(), session_scope() as session:
        petition = _petition(session)
        update = updates.get(session, petition=petition, update_id=update_id)
        assert update is not None
        return updates.send(
            session,
            petition=petition,
            update=update,
            actor="user:1",
            min_days=7,
            override_reason=reason,
        )


def test_recipients_are_the_verified_consenting_signers_only(app: Flask, signers: Signers) -> None:
    with app.app_context(), session_scope() as session:
        petition = _petition(session)
        assert updates.recipient_count(session, petition=petition) == 2
        assert updates.recipients_by_language(session, petition=petition) == {"en": 1, "ar": 1}
        assert updates.languages_of(session, petition) == ["en", "ar"]


def test_the_text_is_sanitized_like_a_petition_text(app: Flask, arabic: Petition) -> None:
    evil = updates.TextSource(
        subject="Hello",
        body="<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>",
    )
    update_id = _draft(app, en=evil)
    with app.app_context(), session_scope() as session:
        [text] = session.get(Update, update_id).texts  # type: ignore[union-attr]
    assert "<script" not in text.body_html
    assert 'href="javascript' not in text.body_html
    assert "<img" not in text.body_html


@pytest.mark.parametrize(
    ("texts", "error"),
    [
        ({"ar": AR}, "required"),
        ({"en": updates.TextSource(subject="", body="x")}, "subject and a body"),
        ({"en": updates.TextSource(subject="a\r\nBcc: x@example.org", body="x")}, "one line"),
        ({"en": EN, "fr": EN}, "no text in fr"),
    ],
)
def test_a_draft_needs_the_petitions_language_and_one_line_subjects(
    app: Flask, arabic: Petition, texts: dict[str, updates.TextSource], error: str
) -> None:
    with pytest.raises(updates.UpdateError, match=error):
        _draft(app, **texts)
    with app.app_context(), session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Update)) == 0


def test_sending_records_the_text_and_the_count_in_the_audit_log(
    app: Flask, signers: Signers
) -> None:
    sent = _send(app, _draft(app))
    assert sent.status == UpdateStatus.SENDING
    assert sent.recipient_count == 2
    with app.app_context(), session_scope() as session:
        [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "update.send"))
    assert event.affected == 2
    assert event.actor == "user:1"
    assert event.details["texts"]["ar"] == {"subject": AR.subject, "body": AR.body}
    assert event.details["texts"]["en"]["body"] == EN.body
    with pytest.raises(updates.NotADraft):
        _send(app, sent.id)


def test_one_update_a_week_unless_overridden_with_a_reason(app: Flask, signers: Signers) -> None:
    _send(app, _draft(app))
    second = _draft(app)
    with pytest.raises(updates.TooSoon) as refused:
        _send(app, second)
    assert refused.value.next_at - refused.value.last_sent_at == dt.timedelta(days=7)
    with app.app_context(), session_scope() as session:
        assert session.get(Update, second).status == UpdateStatus.DRAFT  # type: ignore[union-attr]

    sent = _send(app, second, reason="The addressee answered today")
    assert sent.override_reason == "The addressee answered today"
    with app.app_context(), session_scope() as session:
        event = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "update.send")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert event is not None
    assert event.reason == "The addressee answered today"


def test_a_reason_is_not_kept_when_no_override_was_needed(app: Flask, signers: Signers) -> None:
    sent = _send(app, _draft(app), reason="just because")
    assert sent.override_reason is None


def test_responses_are_public_once_sent_in_the_readers_language(
    app: Flask, signers: Signers
) -> None:
    news = _draft(app)
    response = _draft(app, UpdateKind.RESPONSE, en=EN, ar=AR)
    with app.app_context(), session_scope() as session:
        petition_id = _petition(session).id
        assert updates.public_responses(session, petition_id=petition_id, reader="en") == []
    _send(app, news)
    _send(app, response, reason="answer")
    with app.app_context(), session_scope() as session:
        [shown] = updates.public_responses(session, petition_id=petition_id, reader="ar")
        assert shown["subject"] == AR.subject
        assert shown["dir"] == "rtl"
        [shown] = updates.public_responses(session, petition_id=petition_id, reader="fr")
        assert shown["subject"] == EN.subject
