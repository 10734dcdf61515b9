"""Every word of /admin in the reader's language: statuses, sources, roles, flag
reasons and service errors in Arabic; plurals; "nothing new since batch N"; a refused
form brought into view."""

from __future__ import annotations

import re
from http import HTTPStatus

from flask import Flask
from flask.testing import FlaskClient

from petition.petitions.models import Petition
from petition.signing.models import SignatureSource
from tests.admin.conftest import FLASH, PASSWORD, Accounts, add_signature, login, token
from tests.admin.test_views import _search, _sign

SLUG = "defend-the-people-of-daraa"
BATCHES = f"/admin/p/{SLUG}/batches"


def arabic(client: FlaskClient) -> None:
    client.get("/admin/login?lang=ar")  # the language switch's cookie, as a reader sets it


def test_petition_page_status_and_sources_are_arabic(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _sign(app, SLUG, "a@example.org", source=SignatureSource.WIDGET, origin="https://a.example")
    _sign(app, SLUG, "b@example.org", source=SignatureSource.API, origin="partner:x")
    _sign(app, SLUG, "c@example.org")
    login(client, accounts.organizer)
    arabic(client)
    page = client.get(f"/admin/p/{SLUG}").get_data(as_text=True)
    assert '<strong class="status status-open">مفتوحة</strong>' in page
    for shown in (
        "<td>صفحة العريضة</td>",
        "<td>أداة مضمَّنة في موقع آخر</td>",
        "<td>واجهة برمجية لشريك</td>",
    ):
        assert shown in page
    for raw in ("<td>page</td>", "<td>widget</td>", "<td>api</td>", ">open<"):
        assert raw not in page
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert '<th scope="row">مفتوحة</th>' in dashboard
    assert "<td>open</td>" not in dashboard


def test_signature_status_and_roles_are_arabic(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _sign(app, SLUG, "layla@example.org", verified=False)
    login(client, accounts.admin)
    arabic(client)
    found = _search(client, "layla@example.org").get_data(as_text=True)
    assert "<dd>بانتظار التأكيد</dd>" in found
    users = client.get("/admin/users").get_data(as_text=True)
    assert "<td>مدير</td>" in users
    assert "<td>منظِّم</td>" in users
    assert '<option value="organizer">منظِّم</option>' in users


def test_service_errors_are_shown_in_the_readers_language(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    add_signature(app, SLUG, "a@example.org")
    login(client, accounts.organizer)
    arabic(client)
    client.post(BATCHES, data={"csrf_token": token(client, BATCHES), "password": PASSWORD})
    again = client.post(BATCHES, data={"csrf_token": token(client, BATCHES), "password": PASSWORD})
    assert again.status_code == HTTPStatus.CONFLICT
    html = again.get_data(as_text=True)
    assert "لا جديد منذ الدفعة 1" in html
    assert "since batch" not in html
    # Marking the petition delivered before its batch is: the reason, in Arabic.
    status = f"/admin/p/{SLUG}"
    client.post(f"{status}/status", data={"csrf_token": token(client, status), "to": "closed"})
    early = client.post(
        f"{status}/status", data={"csrf_token": token(client, status), "to": "delivered"}
    )
    assert early.status_code == HTTPStatus.CONFLICT
    assert "لم تُسلَّم الدفعة 1 بعد" in early.get_data(as_text=True)
    refused = client.post(
        f"{status}/status", data={"csrf_token": token(client, status), "to": "draft"}
    )
    assert "لا يمكن لعريضة مغلقة أن تصبح مسوّدة." in refused.get_data(as_text=True)


def test_making_a_batch_says_its_count_with_the_right_plural(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    add_signature(app, SLUG, "a@example.org")
    login(client, accounts.organizer)
    made = client.post(
        BATCHES,
        data={"csrf_token": token(client, BATCHES), "password": PASSWORD},
        follow_redirects=True,
    )
    [flash] = FLASH.findall(made.get_data(as_text=True))
    assert "Batch 1 made: 1 signature." in flash


def test_nothing_new_is_said_instead_of_offering_a_batch(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    login(client, accounts.organizer)
    empty = client.get(BATCHES).get_data(as_text=True)
    assert "No verified signature to export yet." in empty
    assert "Make the batch" not in empty
    signature_id = add_signature(app, SLUG, "a@example.org")
    assert "Make the batch" in client.get(BATCHES).get_data(as_text=True)
    client.post(BATCHES, data={"csrf_token": token(client, BATCHES), "password": PASSWORD})
    after = client.get(BATCHES).get_data(as_text=True)
    assert "Nothing new since batch 1: no signature confirmed or withdrawn since." in after
    assert "Make the batch" not in after
    # A withdrawal after the batch is news for the next one: the form is back.
    search = f"/admin/p/{SLUG}/signatures"
    client.post(f"{search}/{signature_id}/withdraw", data={"csrf_token": token(client, search)})
    assert "Make the batch" in client.get(BATCHES).get_data(as_text=True)


def test_a_wrong_password_on_the_full_export_is_shown_at_the_form_and_focused(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    login(client, accounts.organizer)
    page = client.get(BATCHES).get_data(as_text=True)
    # No fragment in the form's address: Chromium skips autofocus on a page opened at one.
    assert f'action="/admin/p/{SLUG}/export"' in page
    wrong = client.post(
        f"/admin/p/{SLUG}/export",
        data={"csrf_token": token(client, BATCHES), "password": "nope", "fmt": "csv"},
    )
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    html = wrong.get_data(as_text=True)
    [field] = re.findall(r'<input[^>]*id="export-password"[^>]*>', html)
    assert "autofocus" in field
    assert 'aria-invalid="true"' in field
    # Only the refused field takes the focus.
    assert len(re.findall(r"\bautofocus\b", html)) == 1


def test_dashboard_figures_are_formatted_for_the_reader(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    import sqlalchemy as sa
    from babel.numbers import format_decimal

    from petition.db import session_scope

    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(signature_count=12345))
    login(client, accounts.organizer)
    arabic(client)
    dashboard = client.get("/admin/").get_data(as_text=True)
    # CLDR's Arabic ("ar") writes 12,345 as English does, so this holds with "{:,}" too: it
    # pins the figures to the locale's format for a language that writes them otherwise.
    assert f"<td>{format_decimal(12345, locale='ar')}</td>" in dashboard
    page = client.get(f"/admin/p/{SLUG}").get_data(as_text=True)
    assert f"({format_decimal(12345, locale='ar')})" in page
