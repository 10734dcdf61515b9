"""The petition page asks first and is shared without tracking, as a signer sees it
in Chromium: the sign control in a phone's first screen, the form in view on a
laptop, share links with the canonical address on the petition, "check your
mailbox" and "confirmed" pages, in English and Arabic, with JavaScript on or off."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import SLUG
from tests.helpers.mail import Mailbox, link_in, run_worker
from tests.helpers.servers import LiveServer

LANGUAGES = ["en", "ar"]
PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}
# settings.base_url in the tests; the live server answers on 127.0.0.1:<port>, so a
# link built from the request's Host would show here.
CANONICAL = f"http://localhost/p/{SLUG}"
TITLE = {"en": "Defend the People of Daraa", "ar": "دافعوا عن أهل درعا"}
SHARE_TEXT = {
    "en": "Please sign the petition “Defend the People of Daraa”:",
    "ar": "يُرجى التوقيع على عريضة «دافعوا عن أهل درعا»:",
}


def in_viewport(page: Page, selector: str) -> dict[str, float]:
    """The element's box; asserts that all of it is inside the window as it stands."""
    box = page.evaluate(
        "(s) => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }",
        selector,
    )
    size = page.viewport_size
    assert size is not None
    inside = (
        box["top"] >= 0,
        box["bottom"] <= size["height"],
        box["left"] >= 0,
        box["right"] <= size["width"],
    )
    assert all(inside), (selector, box, size)
    return dict(box)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_on_a_phone_the_first_screen_asks_and_leads_to_the_form(
    site: LiveServer, new_page: Any, lang: str
) -> None:
    page: Page = new_page(java_script_enabled=False, viewport=PHONE)
    page.goto(f"{site.url}/p/{SLUG}?lang={lang}")
    for selector in ("h1", ".count-figure", ".sign-cta a"):
        box = in_viewport(page, selector)
    print(f"sign control at 360x740 ({lang}): {box['top']:.0f}-{box['bottom']:.0f} px")
    cta = page.locator(".sign-cta a")
    assert cta.get_attribute("href") == "#sign"
    cta.click()
    page.wait_for_url("**#sign")
    in_viewport(page, "#sign-heading")
    in_viewport(page, "#name")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_on_a_phone_the_text_is_shortened_until_read_in_full(
    site: LiveServer, new_page: Any, lang: str
) -> None:
    page: Page = new_page(java_script_enabled=False, viewport=PHONE)
    page.goto(f"{site.url}/p/{SLUG}?lang={lang}")
    hidden = "(() => { const t = document.querySelector('.petition-text');"
    hidden += " return t.scrollHeight - t.clientHeight; })()"
    assert page.evaluate(hidden) > 500  # the rest of the text is there, but cut short
    # The form follows the shortened text.
    text_end = page.locator(".read-more").bounding_box()
    form_top = page.locator("#sign").bounding_box()
    assert text_end is not None
    assert form_top is not None
    assert form_top["y"] < text_end["y"] + 200
    page.locator(".read-more a").click()
    assert page.evaluate(hidden) == 0
    expect(page.locator(".read-more")).to_be_hidden()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_on_a_laptop_the_form_is_in_view_without_scrolling(
    site: LiveServer, new_page: Any, lang: str
) -> None:
    page: Page = new_page(java_script_enabled=False, viewport=LAPTOP)
    page.goto(f"{site.url}/p/{SLUG}?lang={lang}")
    box = in_viewport(page, "#name")
    in_viewport(page, "h1")
    expect(page.locator(".sign-cta")).to_be_hidden()  # the form itself is in view
    print(f"first field at 1280x800 ({lang}): {box['top']:.0f}-{box['bottom']:.0f} px")
    # It stays in view while the text is read.
    page.mouse.wheel(0, 1500)
    page.wait_for_function("window.scrollY > 1000")
    in_viewport(page, ".sign-form button[type=submit]")


def check_share(page: Page, lang: str, *, javascript: bool) -> None:
    """The share links and the copy field of the page as it stands."""
    links = {
        (a.get_attribute("class") or "").split("share-")[-1]: a.get_attribute("href") or ""
        for a in page.locator(".share-links a").all()
    }
    text, url = quote(SHARE_TEXT[lang], safe=""), quote(CANONICAL, safe="")
    assert links == {
        "whatsapp": f"https://wa.me/?text={text}%20{url}",
        "telegram": f"https://t.me/share/url?url={url}&text={text}",
        "x": f"https://x.com/intent/tweet?text={text}&url={url}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={url}",
        "email": f"mailto:?subject={quote(TITLE[lang], safe='')}&body={text}%0A%0A{url}",
    }
    assert page.locator("#share-url").input_value() == CANONICAL
    assert page.locator("#share-url").get_attribute("readonly") is not None
    copy = page.locator("button[data-copy]")
    if javascript:
        expect(copy).to_be_visible()
    else:
        expect(copy).to_be_hidden()  # the read-only field is the way without JavaScript


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_share_links_on_the_petition_signed_and_confirmed_pages(
    site: LiveServer, mailbox: Mailbox, new_page: Any, lang: str, javascript: bool
) -> None:
    page: Page = new_page(java_script_enabled=javascript, viewport=PHONE)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))

    page.goto(f"{site.url}/p/{SLUG}?lang={lang}")
    check_share(page, lang, javascript=javascript)

    email = f"share-{lang}-{javascript}@example.org"
    page.fill("#name", "Layla Haddad")
    page.fill("#email", email)
    page.select_option("#country", "SY")
    with page.expect_navigation():
        page.click(".sign-form button[type=submit]")
    assert page.url.endswith(f"/p/{SLUG}/signed")
    check_share(page, lang, javascript=javascript)

    run_worker(site.app)
    [message] = mailbox.to(email)
    page.goto(site.url + link_in(message, "confirm"))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.locator(".panel-success h1").count() == 1
    check_share(page, lang, javascript=javascript)
    # Sharing comes first on the confirmed page, before the count.
    share_box, count_box = (
        page.locator(".share").bounding_box(),
        page.locator(".count").bounding_box(),
    )
    assert share_box is not None
    assert count_box is not None
    assert share_box["y"] < count_box["y"]

    ours = urlsplit(site.url).netloc
    assert [r.url for r in requests if urlsplit(r.url).netloc not in ("", ours)] == []


def test_copy_the_link_copies_the_canonical_address(site: LiveServer, new_page: Any) -> None:
    page: Page = new_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"{site.url}/p/{SLUG}?lang=ar")
    page.locator("button[data-copy]").click()
    expect(page.locator(".copy-status")).to_have_text("نُسخ الرابط")
    assert page.evaluate("navigator.clipboard.readText()") == CANONICAL
