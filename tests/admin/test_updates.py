"""An organizer writes an update in English and Arabic, previews both, sends it after
typing the password again; a response shows, dated, on the public petition page."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition import worker
from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.updates.models import Update, UpdateKind, UpdateStatus
from tests.admin.conftest import PASSWORD, Accounts, login, token

# The signers in every state an update must tell apart (shared with tests/updates).
from tests.updates.conftest import SLUG, arabic, signers  # noqa: F401

UPDATES = f"/admin/p/{SLUG}/updates"
TEXT = {
    "kind": "response",
    "subject_en": "The answer from the ministry",
    "body_en": "They **answered**: the file is open.",
    "subject_ar": "ردّ الوزارة",
    "body_ar": "أجابوا: الملف مفتوح.",
}


def _updates(app: Flask) -> list[Update]:
    with app.app_context(), session_scope() as session:
        found = list(session.scalars(sa.select(Update).order_by(Update.id)))
        for update in found:
            update.texts  # noqa: B018 (load them while the session is open)
        return found


def _write(client: FlaskClient, **changes: str) -> int:
    new = f"{UPDATES}/new"
    saved = client.post(new, data={"csrf_token": token(client, new), **TEXT, **changes})
    assert saved.status_code == HTTPStatus.SEE_OTHER, saved.get_data(as_text=True)[:2000]
    found = re.search(r"/updates/(\d+)$", saved.headers["Location"])
    assert found
    return int(found.group(1))


def _send(client: FlaskClient, update_id: int, **data: str):  # type: ignore[no-untyped-def]
    page = f"{UPDATES}/{update_id}"
    return client.post(f"{page}/send", data={"csrf_token": token(client, page), **data})


@pytest.mark.usefixtures("signers")
def test_organizer_previews_in_both_languages_and_sends_with_the_password(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    form = client.get(f"{UPDATES}/new").get_data(as_text=True)
    assert 'name="subject_ar"' in form
    assert 'name="body_en"' in form

    new = f"{UPDATES}/new"
    preview = client.post(new, data={"csrf_token": token(client, new), **TEXT, "action": "preview"})
    assert preview.status_code == HTTPStatus.OK
    html = preview.get_data(as_text=True)
    assert "They <strong>answered</strong>: the file is open." in html
    assert "أجابوا: الملف مفتوح." in html
    # Each preview's footer is in its own language, as its recipients will read it.
    assert "Stop updates about this petition" in html
    assert _updates(app) == []

    update_id = _write(client)
    page = client.get(f"{UPDATES}/{update_id}").get_data(as_text=True)
    assert "It goes to 2 signers" in page
    assert 'dir="rtl"' in page

    wrong = _send(client, update_id, password="not it")
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "That is not your password" in wrong.get_data(as_text=True)
    assert _updates(app)[0].status == UpdateStatus.DRAFT

    sent = _send(client, update_id, password=PASSWORD)
    assert sent.status_code == HTTPStatus.SEE_OTHER
    [update] = _updates(app)
    assert update.status == UpdateStatus.SENDING
    assert update.kind == UpdateKind.RESPONSE
    assert update.recipient_count == 2
    assert update.sent_by == f"user:{accounts.organizer_id}"
    with app.app_context(), session_scope() as session:
        actions = list(session.scalars(sa.select(AuditEvent.action)))
    assert "update.send" in actions
    listed = client.get(UPDATES).get_data(as_text=True)
    assert "The answer from the ministry" in listed
    # The worker sends it (here into the development mail folder): the organizer sees it.
    worker.run(app, once=True)
    listed = client.get(UPDATES).get_data(as_text=True)
    assert '<td data-figure="sent">2</td>' in listed
    assert '<td data-figure="bounced">0</td>' in listed
    detail = client.get(f"{UPDATES}/{update_id}").get_data(as_text=True)
    assert '<td data-figure="sent">2</td>' in detail

    # A sent update never changes.
    edit = f"{UPDATES}/{update_id}/edit"
    assert client.get(edit).status_code == HTTPStatus.CONFLICT
    assert _send(client, update_id, password=PASSWORD).status_code == HTTPStatus.CONFLICT


@pytest.mark.usefixtures("signers")
def test_the_response_is_on_the_public_page_dated_in_the_readers_language(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    assert "The answer from the ministry" not in client.get(f"/p/{SLUG}").get_data(as_text=True)
    update_id = _write(client)
    assert "The answer from the ministry" not in client.get(f"/p/{SLUG}").get_data(as_text=True)
    _send(client, update_id, password=PASSWORD)

    page = client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "They <strong>answered</strong>: the file is open." in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\d">Published on ', page)
    in_arabic = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert "ردّ الوزارة" in in_arabic
    assert "أجابوا: الملف مفتوح." in in_arabic


@pytest.mark.usefixtures("signers")
def test_news_is_not_shown_on_the_public_page(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    _send(client, _write(client, kind="news"), password=PASSWORD)
    assert "The answer from the ministry" not in client.get(f"/p/{SLUG}").get_data(as_text=True)


@pytest.mark.usefixtures("signers")
def test_a_second_update_within_the_week_needs_an_admin_and_a_reason(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    _send(client, _write(client), password=PASSWORD)
    second = _write(client, kind="news")
    # An organizer's reason is not an override: only admins may give one.
    refused = _send(client, second, password=PASSWORD, override_reason="please")
    assert refused.status_code == HTTPStatus.CONFLICT
    assert "The next one can go on" in refused.get_data(as_text=True)
    assert _updates(app)[1].status == UpdateStatus.DRAFT

    client.post("/admin/logout", data={"csrf_token": token(client)})
    login(client, accounts.admin)
    page = client.get(f"{UPDATES}/{second}").get_data(as_text=True)
    assert 'name="override_reason"' in page
    assert _send(client, second, password=PASSWORD).status_code == HTTPStatus.CONFLICT
    sent = _send(client, second, password=PASSWORD, override_reason="The debate is tomorrow")
    assert sent.status_code == HTTPStatus.SEE_OTHER
    assert _updates(app)[1].override_reason == "The debate is tomorrow"


@pytest.mark.usefixtures("signers")
def test_bad_drafts_get_a_form_message(app: Flask, client: FlaskClient, accounts: Accounts) -> None:
    login(client, accounts.organizer)
    new = f"{UPDATES}/new"
    for changes in (
        {"subject_en": ""},
        {"body_ar": ""},
        {"subject_en": "two\r\nlines"},
        {"kind": "advert"},
        {"body_en": "x" * 20_001},
    ):
        answer = client.post(new, data={"csrf_token": token(client, new), **TEXT, **changes})
        assert answer.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, changes
        assert 'class="field-error"' in answer.get_data(as_text=True)
    assert _updates(app) == []
    assert client.get(f"{UPDATES}/999").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.usefixtures("signers")
def test_a_draft_can_be_edited_until_it_is_sent(
    app: Flask, client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.organizer)
    update_id = _write(client)
    edit = f"{UPDATES}/{update_id}/edit"
    form = client.get(edit).get_data(as_text=True)
    assert 'value="The answer from the ministry"' in form
    assert "أجابوا: الملف مفتوح." in form
    # Dropping the Arabic text: Arabic readers then get the English one.
    changed = client.post(
        edit,
        data={
            "csrf_token": token(client, edit),
            **TEXT,
            "subject_en": "Corrected subject",
            "subject_ar": "",
            "body_ar": "",
        },
    )
    assert changed.status_code == HTTPStatus.SEE_OTHER
    [update] = _updates(app)
    assert [(t.language, t.subject) for t in update.texts] == [("en", "Corrected subject")]
    assert update.kind == UpdateKind.RESPONSE
