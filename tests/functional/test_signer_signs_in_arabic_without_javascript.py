"""A signer on a narrow phone with JavaScript off reads the petition in Arabic,
signs, confirms from the email and later withdraws, all in Arabic."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from petition.config import PROJECT_ROOT
from petition.db import session_scope
from petition.petitions import service
from petition.signing.models import Signature, SignatureStatus
from tests.helpers import DARAA
from tests.helpers.mail import Mailbox, link_in, run_worker
from tests.helpers.servers import LiveServer

SLUG = "defend-the-people-of-daraa"
PHONE = {"width": 320, "height": 640}


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_signer_signs_confirms_and_withdraws_in_arabic_without_javascript(
    live_server: LiveServer, mailbox: Mailbox, new_page: Any
) -> None:
    with live_server.app.app_context(), session_scope() as session:
        service.publish(session, source=service.parse_petition_file(DARAA))
    translation = service.parse_file(PROJECT_ROOT / "content" / "defend-the-people-of-daraa.ar.md")
    assert isinstance(translation, service.TranslationSource)
    with live_server.app.app_context(), session_scope() as session:
        service.add_translation(session, source=translation)

    page: Page = new_page(java_script_enabled=False, viewport=PHONE, locale="ar-SY")
    page.goto(f"{live_server.url}/p/{SLUG}")  # Accept-Language: ar-SY
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text() == "دافعوا عن أهل درعا"

    page.fill("#name", "ليلى حداد")
    page.fill("#email", "layla.nojs@example.org")
    page.select_option("#country", "SY")
    page.check("#public")
    # The delivery mail is asked for only by ticking it; its label names it for a screen
    # reader, and it is in the keyboard's order like the other boxes.
    delivery_mail = page.get_by_role("checkbox", name="راسلني مرة واحدة حين تُسلَّم دفعة فيها توقيعي")
    assert not delivery_mail.is_checked()
    delivery_mail.focus()
    page.keyboard.press("Space")
    assert delivery_mail.is_checked()
    # A person takes a few seconds over the form; a faster one is held as a likely bot
    # (petition.abuse.traps) and would not count.
    time.sleep(live_server.app.config["PETITION_SETTINGS"].flag_min_fill_seconds + 0.2)
    with page.expect_navigation():
        page.get_by_role("button", name="وقّع العريضة").click()
    assert page.locator("h1").inner_text() == "تفقّد بريدك الإلكتروني"
    with live_server.app.app_context(), session_scope() as session:
        assert session.scalars(sa.select(Signature.has_delivery_consent)).one() is True

    run_worker(live_server.app)
    [message] = mailbox.to("layla.nojs@example.org")
    assert message["Subject"].startswith("يُرجى تأكيد توقيعك")

    page.goto(live_server.url + link_in(message, "confirm"))
    with page.expect_navigation():
        page.get_by_role("button", name="تأكيد توقيعي").click()
    assert page.locator("h1").inner_text() == "شكرًا لك، لقد تأكّد توقيعك"
    run_worker(live_server.app)
    page.goto(f"{live_server.url}/p/{SLUG}")
    assert "توقيع واحد مؤكَّد" in page.locator(".count-figure").inner_text()
    assert "ليلى حداد" in page.locator(".signers").inner_text()

    page.goto(live_server.url + link_in(message, "withdraw"))
    assert page.locator("h1").inner_text() == "توقيعك"
    assert page.locator("#standing").inner_text() == "مؤكَّد ومحسوب"
    page.get_by_role("checkbox", name="نعم، اسحبه: لا يمكن التراجع عن ذلك").check()
    with page.expect_navigation():
        page.get_by_role("button", name="سحب توقيعي").click()
    assert page.locator("h1").inner_text() == "سُحب توقيعك"
    with live_server.app.app_context(), session_scope() as session:
        signature = session.scalars(sa.select(Signature)).one()
        assert signature.status == SignatureStatus.WITHDRAWN
        assert signature.name is None
        # Withdrawing erased the wish for the delivery mail with the rest.
        assert signature.has_delivery_consent is False
