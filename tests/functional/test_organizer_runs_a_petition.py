"""An organizer, in a real browser, logs in, writes a petition with a preview,
opens it, and watches a signature arrive on the dashboard."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from petition.admin import service
from petition.admin.models import UserRole
from petition.db import session_scope
from tests.conftest import Mailbox, free_port, link_in, run_worker

PASSWORD = "a long enough password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def server(mail_app: Flask) -> Iterator[str]:
    port = free_port()
    httpd = make_server("127.0.0.1", port, mail_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser_pages() -> Iterator[tuple[Page, Page, list[str]]]:
    """Two separate browsers' pages (organizer, signer) and the CSP violations seen."""
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        pages = []
        for _ in range(2):
            page = browser.new_context().new_page()
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            pages.append(page)
        yield pages[0], pages[1], violations
        browser.close()


@pytest.mark.browser
def test_organizer_opens_a_petition_and_sees_a_signature_arrive(
    mail_app: Flask, mailbox: Mailbox, server: str, browser_pages: tuple[Page, Page, list[str]]
) -> None:
    organizer, signer, violations = browser_pages
    with mail_app.app_context(), session_scope() as session:
        service.create_user(
            session, email="rana@example.org", password=PASSWORD, role=UserRole.ORGANIZER
        )

    # Logs in.
    organizer.goto(f"{server}/admin/p/water-for-deir-ez-zor")
    expect(organizer).to_have_url(f"{server}/admin/login?next=/admin/p/water-for-deir-ez-zor?")
    organizer.goto(f"{server}/admin/login")
    organizer.get_by_label("Email address").fill("rana@example.org")
    organizer.get_by_label("Password").fill("wrong password, surely")
    organizer.get_by_role("button", name="Log in").click()
    expect(organizer.get_by_role("alert")).to_contain_text("do not match an account")
    organizer.get_by_label("Email address").fill("rana@example.org")
    organizer.get_by_label("Password").fill(PASSWORD)
    organizer.get_by_role("button", name="Log in").click()
    expect(organizer).to_have_url(f"{server}/admin/")

    # Writes a petition and previews it.
    organizer.get_by_role("link", name="New petition").click()
    organizer.get_by_label("Title").fill("Water for Deir ez-Zor")
    organizer.get_by_label("Web address").fill("water-for-deir-ez-zor")
    organizer.get_by_label("Addressed to").fill("The governor")
    organizer.get_by_label("Text (Markdown)").fill(
        "We ask for **clean water** now.\n\n- wells\n- pipes\n"
    )
    organizer.get_by_label("Goal (number of signatures)").fill("500")
    organizer.get_by_role("button", name="Preview").click()
    preview = organizer.locator(".preview")
    expect(preview.locator("strong")).to_have_text("clean water")
    expect(preview.locator("li")).to_have_count(2)
    expect(preview).to_contain_text("To: The governor")
    organizer.get_by_role("button", name="Save").click()
    expect(organizer).to_have_url(f"{server}/admin/p/water-for-deir-ez-zor")
    expect(organizer.locator(".status")).to_have_text("draft")

    # Opens it.
    organizer.get_by_role("button", name="Open for signatures").click()
    expect(organizer.locator(".status")).to_have_text("open")

    # A signer signs on the public page and confirms from the email.
    signer.goto(f"{server}/p/water-for-deir-ez-zor")
    expect(signer.locator(".petition-text strong")).to_have_text("clean water")
    signer.get_by_label("Full name").fill("Layla Haddad")
    signer.get_by_label("Email address").fill("layla@example.org")
    signer.locator("select[name=country]").select_option("SY")
    signer.get_by_role("button", name="Sign the petition").click()
    expect(signer).to_have_url(f"{server}/p/water-for-deir-ez-zor/signed")
    run_worker(mail_app)
    [message] = mailbox.to("layla@example.org")
    signer.goto(server + link_in(message, "confirm"))
    signer.get_by_role("button", name="Confirm my signature").click()
    expect(signer.locator("main")).to_contain_text("confirmed")
    run_worker(mail_app)

    # The organizer sees it on the dashboard.
    organizer.reload()
    expect(organizer.locator('[data-count="verified"]')).to_have_text("1")
    expect(
        organizer.locator("svg.chart rect.chart-bar title").filter(has_text="SY: 1")
    ).to_have_count(1)
    organizer.get_by_role("link", name="Audit log").first.click()
    expect(organizer.locator("table.audit")).to_contain_text("petition.open")
    expect(organizer.locator("table.audit")).to_contain_text("petition.create")
    assert violations == []
