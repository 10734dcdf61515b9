"""An organizer mistypes the password of the full export, at the bottom of the batches
page: in Chromium without JavaScript, the answer opens at the form with the password
field focused and its error beside it, in English and in Arabic."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from petition.admin import service
from petition.admin.models import UserRole
from petition.db import session_scope
from petition.petitions.models import Petition
from tests.browser.conftest import serve

PASSWORD = "a long enough password"
SLUG = "defend-the-people-of-daraa"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_refused_password_is_in_view_and_focused(
    app: Flask, petition: Petition, new_page: Any, lang: str
) -> None:
    with app.app_context(), session_scope() as session:
        user = service.create_user(
            session, email="rana@example.org", password=PASSWORD, role=UserRole.ORGANIZER,
            actor="cli:test",
        )  # fmt: skip
        service.grant_petition(
            session, user=user, petition=session.merge(petition), actor="cli:test"
        )
    with serve(app) as base:
        page: Page = new_page(java_script_enabled=False, viewport={"width": 1280, "height": 600})
        page.goto(f"{base}/admin/login?lang={lang}")
        page.fill("#email", "rana@example.org")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.goto(f"{base}/admin/p/{SLUG}/batches")
        page.fill("#export-password", "not my password")
        with page.expect_navigation():
            page.click("#full-heading ~ form button[type=submit]")
        page.wait_for_function("document.activeElement.id === 'export-password'", timeout=5000)
        error = page.locator(".field-error").first
        expected = "That is not your password." if lang == "en" else "هذه ليست كلمة مرورك."
        assert error.inner_text() == expected
        # In the window, not below it: the reader sees the message without scrolling.
        box = error.bounding_box()
        assert box is not None
        assert 0 <= box["y"] <= 600 - box["height"]
