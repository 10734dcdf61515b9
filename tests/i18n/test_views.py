"""The reader's language: chosen by ?lang=, then the cookie, then Accept-Language;
the whole page, its form errors, error pages and emails follow it."""

from __future__ import annotations

import re
from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.db import session_scope
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition
from tests.helpers.forms import sign_form
from tests.helpers.mail import Mailbox, run_worker, text_body

SLUG = "defend-the-people-of-daraa"


def html_tag(page: str) -> str:
    found = re.search(r"<html[^>]*>", page)
    assert found
    return found.group(0)


def test_lang_parameter_sets_arabic_right_to_left_and_remembers_it(
    client: FlaskClient, petition: Petition
) -> None:
    response = client.get(f"/p/{SLUG}?lang=ar")
    page = response.get_data(as_text=True)
    assert html_tag(page) == '<html lang="ar" dir="rtl">'
    assert "وقّع هذه العريضة" in page
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=ar;")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    # The cookie now chooses, whatever the browser prefers.
    again = client.get(f"/p/{SLUG}", headers={"Accept-Language": "en"})
    assert html_tag(again.get_data(as_text=True)) == '<html lang="ar" dir="rtl">'
    # ?lang= wins over the cookie.
    english = client.get(f"/p/{SLUG}?lang=en").get_data(as_text=True)
    assert html_tag(english) == '<html lang="en" dir="ltr">'


def test_accept_language_chooses_when_nothing_else_does(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "ar-SY,ar;q=0.9,en;q=0.5"})
    assert html_tag(page.get_data(as_text=True)) == '<html lang="ar" dir="rtl">'
    assert "Accept-Language" in page.headers["Vary"]
    page = client.get("/", headers={"Accept-Language": "fr"})
    assert html_tag(page.get_data(as_text=True)) == '<html lang="en" dir="ltr">'


def test_unknown_lang_is_ignored(client: FlaskClient) -> None:
    response = client.get("/?lang=xx")
    assert html_tag(response.get_data(as_text=True)) == '<html lang="en" dir="ltr">'
    assert "Set-Cookie" not in response.headers


def test_count_is_formatted_for_the_locale_with_arabic_plurals(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    def set_count(count: int, goal: int | None = None) -> None:
        with app.app_context(), session_scope() as session:
            session.execute(
                sa.update(Petition)
                .where(Petition.id == petition.id)
                .values(signature_count=count, goal=goal)
            )

    set_count(1234567, goal=2000000)
    page = client.get(f"/p/{SLUG}?lang=en").get_data(as_text=True)
    assert "<strong>1,234,567</strong> verified signatures of a goal of 2,000,000" in page
    page = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert "<strong>1,234,567</strong> توقيعًا مؤكَّدًا من أصل هدف قدره 2,000,000" in page

    for count, words in [
        (1, "توقيع واحد مؤكَّد"),
        (2, "توقيعان مؤكَّدان"),
        (7, "<strong>7</strong> توقيعات مؤكَّدة"),
        (11, "<strong>11</strong> توقيعًا مؤكَّدًا"),
        (100, "<strong>100</strong> توقيع مؤكَّد"),
    ]:
        set_count(count)
        assert words in client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert "<strong>100</strong> verified signatures" in client.get("/?lang=en").get_data(
        as_text=True
    )


def test_dates_are_formatted_for_the_locale(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    import datetime as dt

    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(Petition)
            .where(Petition.id == petition.id)
            .values(opened_at=dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC))
        )
    assert "Started on November 2, 2026." in client.get(f"/p/{SLUG}?lang=en").get_data(as_text=True)
    assert "بدأت في 2 نوفمبر 2026." in client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)


def test_form_errors_are_in_arabic_and_linked_to_their_fields(
    client: FlaskClient, petition: Petition
) -> None:
    client.get("/?lang=ar")
    response = client.post(
        f"/p/{SLUG}/sign", data=sign_form(client, SLUG, name="", email="not-an-address")
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    page = response.get_data(as_text=True)
    assert "<title>خطأ: Defend the People of Daraa</title>" in page
    assert '<a href="#name">الاسم الكامل: يُرجى إدخال اسمك.</a>' in page
    assert 'id="email-error">يُرجى إدخال عنوان بريد إلكتروني صحيح.</p>' in page
    assert 'aria-describedby="email-error"' in page
    assert 'aria-invalid="true"' in page
    # The language switch of a page answering a post leads to the petition, not a 405.
    assert f'href="/p/{SLUG}?lang=en"' in page


def test_countries_are_named_in_the_reader_language(
    client: FlaskClient, petition: Petition
) -> None:
    page = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert '<option value="SY">سوريا</option>' in page
    assert '<option value="">اختر بلدك</option>' in page
    assert '<option value="SY">Syria</option>' in client.get(f"/p/{SLUG}?lang=en").get_data(
        as_text=True
    )


def test_error_pages_are_in_the_reader_language(client: FlaskClient) -> None:
    response = client.get("/p/nothing-here?lang=ar")
    assert response.status_code == HTTPStatus.NOT_FOUND
    page = response.get_data(as_text=True)
    assert html_tag(page) == '<html lang="ar" dir="rtl">'
    assert "<h1>الصفحة غير موجودة</h1>" in page
    assert "<h1>Page not found</h1>" in client.get("/p/nothing?lang=en").get_data(as_text=True)
    # The API keeps machine-readable English problem details.
    assert client.get("/api/v1/petitions/nothing?lang=ar").json["title"] == "Not Found"


def test_emails_are_written_in_the_signer_language(mail_app: Flask, mailbox: Mailbox) -> None:
    from petition.petitions import service
    from tests.helpers import DARAA

    with mail_app.app_context(), session_scope() as session:
        service.publish(session, source=service.parse_petition_file(DARAA))
    client = mail_app.test_client()
    client.get("/?lang=ar")
    response = client.post(
        f"/p/{SLUG}/sign", data=sign_form(client, SLUG, email="arabic@example.org")
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    with mail_app.app_context(), session_scope() as session:
        assert session.scalars(sa.select(OutboxMessage.locale)).all() == ["ar"]
    run_worker(mail_app)
    [message] = mailbox.to("arabic@example.org")
    assert message["Subject"] == "يُرجى تأكيد توقيعك: Defend the People of Daraa"
    body = text_body(message)
    assert "مرحبًا Layla Haddad،" in body
    assert "الرابط صالح لمدة 7 أيام." in body
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert '<html lang="ar" dir="rtl">' in html.get_content()


def test_a_form_without_its_token_says_so_in_the_reader_language(
    client: FlaskClient, petition: Petition
) -> None:
    client.get("/?lang=ar")
    response = client.post(f"/p/{SLUG}/confirm/some-token", data={})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = response.get_data(as_text=True)
    assert "<h1>انتهت صلاحية النموذج</h1>" in page
    assert "CSRF" not in page
