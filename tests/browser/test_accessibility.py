"""axe-core finds no WCAG 2.2 A/AA violation on any public page, in English and in
Arabic; the pages reflow at 320 CSS pixels (400 % zoom) without sideways scrolling;
the sign form works by keyboard alone with a visible focus."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import SLUG, axe_violations, serve
from tests.helpers.mail import Mailbox, link_in, run_worker
from tests.helpers.servers import LiveServer

LANGUAGES = ["en", "ar"]


def check(page: Page, label: str, problems: list[str]) -> None:
    """Collect axe violations and sideways overflow of the page as it stands."""
    problems.extend(f"{label}: {v}" for v in axe_violations(page))
    for width in (320, 640):  # 400 % and 200 % zoom of a 1280 px window
        page.set_viewport_size({"width": width, "height": 800})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{label}: {overflow}px sideways scroll at {width}px wide")
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_public_page_passes_axe(
    site: LiveServer, mailbox: Mailbox, new_page: Any, lang: str
) -> None:
    page: Page = new_page(bypass_csp=True)  # axe is injected as a script
    base = site.url
    problems: list[str] = []

    page.goto(f"{base}/?lang={lang}")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    check(page, "index", problems)
    page.goto(f"{base}/p/{SLUG}")
    check(page, "petition", problems)
    page.goto(f"{base}/p/{SLUG}?original=1")
    check(page, "petition (original text)", problems)
    page.goto(f"{base}/p/nothing-here")
    check(page, "404", problems)
    page.goto(f"{base}/p/{SLUG}/confirm/not-a-token")
    check(page, "confirm with a bad link", problems)

    page.goto(f"{base}/p/{SLUG}")
    with page.expect_navigation():
        page.click("button[type=submit]")  # empty form: the error state
    assert page.locator("#form-errors").is_visible()
    check(page, "sign form errors", problems)

    page.fill("#name", "Layla Haddad")
    page.fill("#email", f"axe-{lang}@example.org")
    page.select_option("#country", "SY")
    page.check("#public")
    # As long as a person takes: a faster form is held (abuse.traps) and would not count.
    time.sleep(site.app.config["PETITION_SETTINGS"].flag_min_fill_seconds + 0.2)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/p/{SLUG}/signed")
    check(page, "signed", problems)

    run_worker(site.app)
    [message] = mailbox.to(f"axe-{lang}@example.org")
    page.goto(base + link_in(message, "confirm"))
    check(page, "confirm", problems)
    with page.expect_navigation():
        page.click("button[type=submit]")
    check(page, "confirmed", problems)
    run_worker(site.app)  # folds the count: the page now has countries and a signer
    page.goto(f"{base}/p/{SLUG}")
    assert page.locator(".country-table").count() == 1
    check(page, "petition with countries", problems)
    page.goto(f"{base}/p/{SLUG}/countries")
    check(page, "countries", problems)
    page.goto(f"{base}/p/{SLUG}/batches")
    assert page.locator(".figures-table").count() == 1
    check(page, "batches and figures", problems)
    page.goto(base + link_in(message, "withdraw"))
    check(page, "withdraw", problems)
    page.check("#confirm_withdraw")
    with page.expect_navigation():
        page.click("button[type=submit]")
    check(page, "withdrawn", problems)

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_recipients_guide_passes_axe(site: LiveServer, new_page: Any, lang: str) -> None:
    page: Page = new_page(bypass_csp=True)
    problems: list[str] = []
    page.goto(f"{site.url}/verify?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    check(page, "/verify", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_widget_passes_axe(site: LiveServer, new_page: Any, lang: str) -> None:
    page: Page = new_page(bypass_csp=True, viewport={"width": 320, "height": 640})
    problems: list[str] = []
    page.goto(f"{site.url}/embed/{SLUG}?lang={lang}&mode=count")
    assert page.locator("html").get_attribute("lang") == lang
    check(page, "widget (count)", problems)
    page.goto(f"{site.url}/embed/{SLUG}?lang={lang}")
    if lang == "ar":
        assert page.locator("h1").inner_text() == "دافعوا عن أهل درعا"
    check(page, "widget (form)", problems)
    with page.expect_navigation():
        page.click("button[type=submit]")  # empty: the error state
    assert page.locator("#form-errors").is_visible()
    check(page, "widget (form errors)", problems)
    page.fill("#name", "Layla Haddad")
    page.fill("#email", f"widget-{lang}@example.org")
    page.select_option("#country", "SY")
    with page.expect_navigation():
        page.click("button[type=submit]")
    check(page, "widget (signed)", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rate_limited_page_passes_axe(
    make_app: Callable[..., Flask], new_page: Any, lang: str
) -> None:
    app = make_app(ratelimit_sign_per_ip="1/hour")
    with serve(app) as base:
        page: Page = new_page(bypass_csp=True)
        for _ in range(2):
            page.goto(f"{base}/p/{SLUG}?lang={lang}")
            page.fill("#name", "Layla Haddad")
            page.fill("#email", "limits@example.org")
            page.select_option("#country", "SY")
            with page.expect_navigation():
                page.click("button[type=submit]")
        assert page.locator("h1").inner_text() == (
            "طلبات كثيرة جدًا" if lang == "ar" else "Too many requests"
        )
        problems: list[str] = []
        check(page, "429", problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sign_form_works_by_keyboard_with_visible_focus(
    site: LiveServer, new_page: Any, lang: str
) -> None:
    page: Page = new_page()
    page.goto(f"{site.url}/p/{SLUG}?lang={lang}")

    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = skip.bounding_box()
    assert box is not None
    assert box["width"] > 20  # shown when focused
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Tab through the page to the form: its fields come in reading order.
    order = []
    for _ in range(200):
        page.keyboard.press("Tab")
        element = page.evaluate("document.activeElement.id || document.activeElement.tagName")
        if element in ("name", "email", "country", "postcode", "public", "updates", "BUTTON"):
            assert focus_is_visible(page), element
            order.append(element)
        if element == "BUTTON":
            break
    assert order == ["name", "email", "country", "postcode", "public", "updates", "BUTTON"]

    # An empty submit moves focus to the error summary, whose links lead to the fields.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#form-errors")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "name"

    page.keyboard.type("Layla Haddad")
    page.keyboard.press("Tab")
    page.keyboard.type(f"keys-{lang}@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("S")  # a select takes typed letters (the list is in the reader's script)
    page.select_option("#country", "SY")  # (typing the Arabic name is not portable here)
    page.focus("#public")
    page.keyboard.press("Space")
    assert page.is_checked("#public")
    page.focus("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/p/{SLUG}/signed")


def focus_is_visible(page: Page) -> bool:
    """The focused element draws an outline (or a ring) around itself."""
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; })()"
    )
    outline_style, outline_width, shadow = style
    return (outline_style != "none" and outline_width != "0px") or shadow != "none"
