"""An organizer, in a real browser, logs in, writes a petition with a preview,
opens it, watches a signature arrive on the dashboard, invalidates a flagged one
with a reason, makes a signed batch and downloads it."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, Playwright, expect
from werkzeug.serving import make_server

from petition.abuse.models import FlagReason
from petition.admin import service
from petition.admin.models import UserRole
from petition.db import session_scope
from tests.admin.conftest import add_signature
from tests.helpers.mail import Mailbox, link_in, run_worker
from tests.helpers.servers import free_port

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
def browser_pages(playwright: Playwright) -> Iterator[tuple[Page, Page, list[str]]]:
    """Two separate browsers' pages (organizer, signer) and the CSP violations seen."""
    # The session's Playwright (tests/conftest.py): a second one cannot start here.
    violations: list[str] = []
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
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
def test_organizer_runs_a_petition_from_opening_to_delivery(
    mail_app: Flask, mailbox: Mailbox, server: str, browser_pages: tuple[Page, Page, list[str]]
) -> None:
    organizer, signer, violations = browser_pages
    with mail_app.app_context(), session_scope() as session:
        service.create_user(
            session,
            email="rana@example.org",
            password=PASSWORD,
            role=UserRole.ORGANIZER,
            actor="cli:test",
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
    signer.wait_for_timeout(3500)  # people read before they send; faster ones are flagged
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

    # A robot's signature was flagged; the organizer invalidates it with a reason.
    add_signature(
        mail_app,
        "water-for-deir-ez-zor",
        "bot@mailinator.com",
        flags=frozenset({FlagReason.DOMAIN}),
    )
    organizer.reload()
    expect(organizer.locator('[data-count="flagged"]')).to_have_text("1")
    organizer.get_by_role("link", name="Flagged signatures").first.click()
    expect(organizer.locator("#preview-count")).to_contain_text("This touches 1 signature.")
    organizer.locator("#why-invalidate").fill("A throwaway mailbox, sent by a script")
    organizer.get_by_role("button", name="Invalidate: they never count (1)").click()
    expect(organizer.locator(".flash")).to_contain_text("1 signature invalidated")
    run_worker(mail_app)

    # Makes the first batch (the password again) and downloads it.
    organizer.goto(f"{server}/admin/p/water-for-deir-ez-zor/batches")
    expect(organizer.locator("main")).to_contain_text("1 verified signature is in no batch yet")
    organizer.locator("#make-password").fill(PASSWORD)
    organizer.get_by_role("button", name="Make the batch").click()
    expect(organizer.locator(".flash")).to_contain_text("Batch 1 made: 1 signature.")
    with organizer.expect_download() as download_info:
        organizer.locator("table.batches").get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "water-for-deir-ez-zor-batch-1.zip"
    with zipfile.ZipFile(download.path()) as archive:
        assert "manifest.sig" in archive.namelist()
        csv = next(n for n in archive.namelist() if n.endswith("signatures.csv"))
        assert "Layla Haddad" in archive.read(csv).decode()
    organizer.locator("#to-1").fill("The governor's office, by hand")
    organizer.get_by_role("button", name="Mark delivered").click()
    expect(organizer.locator("table.batches")).to_contain_text("to The governor's office")

    # Every step is in the audit log.
    organizer.goto(f"{server}/admin/p/water-for-deir-ez-zor/audit")
    log = organizer.locator("table.audit")
    for action in (
        "petition.create",
        "petition.open",
        "flags.invalidate",
        "export.batch",
        "export.download",
        "export.deliver",
    ):
        expect(log).to_contain_text(action)
    expect(log).to_contain_text("A throwaway mailbox, sent by a script")
    assert violations == []
