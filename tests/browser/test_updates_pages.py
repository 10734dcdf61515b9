"""What a signer sees of updates, in Chromium: the response on the petition page and
the unsubscribe pages pass axe-core (WCAG 2.2 A/AA) in English and Arabic, and the
button works without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page

from petition.db import session_scope
from petition.petitions import service as petitions
from petition.updates import service as updates
from petition.updates.models import UpdateKind
from tests.browser.conftest import SLUG, axe_violations
from tests.browser.test_accessibility import check
from tests.helpers.mail import Mailbox, run_worker, text_body
from tests.helpers.servers import LiveServer
from tests.updates.conftest import add_signer

LANGUAGES = ["en", "ar"]


def _send_response(site: LiveServer) -> None:
    with site.app.app_context(), session_scope() as session:
        petition = petitions.get_by_slug(session, SLUG)
        assert petition is not None
        draft = updates.save_draft(
            session,
            petition=petition,
            source=updates.DraftSource(
                kind=UpdateKind.RESPONSE,
                texts={
                    "en": updates.TextSource(
                        subject="The ministry answered", body="The file is **open**."
                    ),
                    "ar": updates.TextSource(subject="ردّت الوزارة", body="الملف **مفتوح**."),
                },
            ),
            actor="test",
        )
        updates.send(session, petition=petition, update=draft, actor="test", min_days=7)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_response_and_unsubscribe_pages_pass_axe_and_work_without_javascript(
    site: LiveServer, mailbox: Mailbox, new_page: Any, lang: str
) -> None:
    email = f"reader-{lang}@example.org"
    add_signer(site.app, email, locale=lang)
    _send_response(site)
    run_worker(site.app)
    [message] = [m for m in mailbox.to(email) if m["List-Unsubscribe"]]
    found = re.search(r"http://localhost(/p/[\w-]+/unsubscribe/[\w-]+)", text_body(message))
    assert found

    page: Page = new_page(bypass_csp=True, java_script_enabled=False)
    problems: list[str] = []
    page.goto(f"{site.url}/p/{SLUG}?lang={lang}")
    heading = "ردّت الوزارة" if lang == "ar" else "The ministry answered"
    assert page.locator(".response h3").inner_text() == heading
    # axe runs as a script: check with JavaScript on, in a page of its own.
    scripted: Page = new_page(bypass_csp=True)
    scripted.goto(f"{site.url}/p/{SLUG}?lang={lang}")
    check(scripted, "petition with a response", problems)
    scripted.goto(site.url + found.group(1))
    check(scripted, "unsubscribe", problems)
    scripted.goto(site.url + found.group(1) + "x")
    check(scripted, "unsubscribe, bad link", problems)

    page.goto(site.url + found.group(1))
    with page.expect_navigation():
        page.click("button[type=submit]")
    title = "لن تصلك تحديثات أخرى" if lang == "ar" else "You will get no more updates"
    assert page.locator("h1").inner_text() == title
    scripted.goto(site.url + found.group(1))
    problems.extend(f"unsubscribed: {v}" for v in axe_violations(scripted))
    assert not problems, "\n".join(problems)
