"""A reader of a campaign site signs in the widget there, with third-party cookies blocked.

Real parts only: the app on a real port, a host page on another site, Chromium,
the SMTP server receiving the confirmation, the worker folding the count.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.config import PROJECT_ROOT
from petition.db import db, session_scope, utcnow
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing.models import Signature, SignatureSource
from petition.widget import service as widget
from tests.api.conftest import add_verified
from tests.functional.conftest import HostSite
from tests.helpers import DARAA
from tests.helpers.mail import Mailbox, run_worker, text_body

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "defend-the-people-of-daraa"
SCREENSHOT = PROJECT_ROOT / "docs" / "img" / "widget-on-host-page.png"


def publish(app: Flask, **changes: object) -> Petition:
    source = replace(petitions.parse_petition_file(DARAA), **changes)
    with app.app_context(), session_scope() as session:
        return petitions.publish(session, source=source)


def host_page(snippet: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign news</title>
<style>body {{ font-family: Georgia, serif; max-width: 46rem; margin: 2rem auto; color: #222; }}
header {{ border-bottom: 3px solid #b00; margin-bottom: 1rem; }}</style></head>
<body><header><h1>Campaign News</h1></header>
<p>Daraa is under siege. Read our report, then add your name below: the petition's
organizers deliver every verified signature to the decision-makers.</p>
{snippet}
<p>Footer text of the campaign site.</p>
</body></html>"""


def published_snippet(app: Flask) -> str:
    """The snippet exactly as the petition page offers it to site owners."""
    page = app.test_client().get(f"/p/{SLUG}").get_data(as_text=True)
    found = re.search(r'<textarea id="embed-code"[^>]*>(.*?)</textarea>', page, re.S)
    assert found
    return html.unescape(found.group(1))


def signatures(app: Flask) -> list[Signature]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Signature).order_by(Signature.id)))


def widget_frame(page):  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].some(f => f.style.height !== '0px')"
    )
    [frame] = [f for f in page.frames if "/embed/" in f.url]
    return frame


def assert_height_follows(page, frame) -> None:  # type: ignore[no-untyped-def]
    """The iframe becomes as tall as its content: no inner scrollbar, no gap."""
    deadline = time.monotonic() + 5
    while True:
        content = frame.evaluate("document.documentElement.getBoundingClientRect().height")
        outer = page.locator("iframe").bounding_box()["height"]
        if abs(outer - content) <= 1:
            return
        assert time.monotonic() < deadline, f"frame {outer}px, content {content}px"
        page.wait_for_timeout(100)


def test_reader_signs_in_the_widget_on_another_site(
    live_app: Flask, live_url: str, host_site: HostSite, browser_context, mailbox: Mailbox
) -> None:
    petition = publish(live_app, goal=100)
    add_verified(live_app, petition, ["SY"] * 23 + ["DE"] * 9 + ["LB"] * 5)
    host_site.html = host_page(published_snippet(live_app))
    page = browser_context.new_page()
    page.goto(host_site.url)

    frame = widget_frame(page)
    assert frame.url.startswith(f"{live_url}/embed/{SLUG}?mode=sign")
    assert frame.locator(".count-figure strong").inner_text() == "37"
    assert frame.locator("progress").get_attribute("value") == "37"
    assert page.locator("a[data-petition-fallback]").is_hidden()
    assert_height_follows(page, frame)
    if os.environ.get("PETITION_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Third-party cookies are blocked: the frame cannot keep even a cookie of its own
    # (the same cookie set by the service's page at top level sticks, see the end).
    frame.evaluate("document.cookie = 'probe=1; SameSite=None; Secure'")
    assert frame.evaluate("document.cookie") == ""

    # An empty form: the errors make the content taller, and the frame follows.
    before = page.locator("iframe").bounding_box()["height"]
    frame.get_by_role("button", name="Sign the petition").click()
    frame.locator("#form-errors").wait_for()
    assert_height_follows(page, frame)
    assert page.locator("iframe").bounding_box()["height"] > before

    frame.get_by_label("Full name").fill("Salma Haddad")
    frame.get_by_label("Email address").fill("salma@example.org")
    frame.get_by_label("Country").select_option("SY")
    page.wait_for_timeout(1100)  # as long as a person takes, at least
    frame.get_by_role("button", name="Sign the petition").click()
    frame.get_by_role("heading", name="Check your mailbox").wait_for()
    assert_height_follows(page, frame)
    assert browser_context.cookies() == []

    [signature] = [s for s in signatures(live_app) if s.email == "salma@example.org"]
    assert signature.source == SignatureSource.WIDGET
    assert signature.source_origin == host_site.url
    # The page form's bot traps came along into the frame, and a person passes them.
    assert (signature.is_held, signature.flag_reasons) == (False, None)

    run_worker(live_app)
    [message] = mailbox.to("salma@example.org")
    confirm_url = re.search(rf"{live_url}/p/{SLUG}/confirm/\S+", text_body(message))
    assert confirm_url
    confirm = browser_context.new_page()
    confirm.goto(confirm_url.group(0))
    confirm.get_by_role("button").click()
    confirm.get_by_text("confirmed").first.wait_for()
    run_worker(live_app)

    page.reload()
    frame = widget_frame(page)
    assert frame.locator(".count-figure strong").inner_text() == "38"

    # The control for the cookie probe above: at top level the browser keeps it.
    confirm.evaluate("document.cookie = 'probe=1; SameSite=None; Secure'")
    assert "probe=1" in confirm.evaluate("document.cookie")


def test_bad_tokens_show_an_error_in_the_frame_and_store_nothing(
    live_app: Flask, live_url: str, host_site: HostSite, browser_context
) -> None:
    petition = publish(live_app)
    other = publish(live_app, slug="another-petition")
    secret = live_app.config["PETITION_SETTINGS"].secret_key
    ttl = dt.timedelta(minutes=live_app.config["PETITION_SETTINGS"].widget_token_ttl_minutes)
    tokens = {
        "forged": widget.issue_form_token(secret_key="x" * 40, petition=petition, origin=None),
        "expired": widget.issue_form_token(
            secret_key=secret,
            petition=petition,
            origin=None,
            now=utcnow() - ttl - dt.timedelta(minutes=1),
        ),
        "other petition": widget.issue_form_token(secret_key=secret, petition=other, origin=None),
    }
    host_site.html = host_page(published_snippet(live_app))
    page = browser_context.new_page()
    page.goto(host_site.url)
    for kind, token in tokens.items():
        frame = widget_frame(page)
        frame.get_by_label("Full name").fill("Salma Haddad")
        frame.get_by_label("Email address").fill("salma@example.org")
        frame.get_by_label("Country").select_option("SY")
        frame.locator("input[name=token]").evaluate("(el, t) => { el.value = t; }", token)
        frame.get_by_role("button", name="Sign the petition").click()
        alert = frame.locator("#token-problem")
        alert.wait_for()
        expected = "expired" if kind == "expired" else "nothing was saved"
        assert expected in alert.inner_text(), kind
        assert_height_follows(page, frame)
        assert signatures(live_app) == [], kind
        page.goto(host_site.url)


def test_a_site_not_on_the_allowlist_cannot_frame_the_petition(
    live_app: Flask, live_url: str, host_site: HostSite, browser_context
) -> None:
    petition = publish(live_app)
    with live_app.app_context(), session_scope() as session:
        widget.set_embed_origins(
            session,
            petition=session.merge(petition),
            origins=["https://campaign.example"],
            actor="cli:test",
        )
    host_site.html = host_page(published_snippet(live_app))
    page = browser_context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(host_site.url)
    page.wait_for_timeout(1500)
    # The frame was refused by CSP: none of the widget rendered, and the fallback
    # link to the petition page is still there for the reader.
    assert not any(f.locator(".count-figure").count() for f in page.frames if f != page.main_frame)
    assert page.locator("a[data-petition-fallback]").is_visible()
    assert page.locator("iframe").bounding_box()["height"] == 0
    assert any("frame-ancestors" in text for text in refused), refused

    # On the allowlist, the same page may frame it.
    with live_app.app_context(), session_scope() as session:
        widget.set_embed_origins(
            session, petition=session.merge(petition), origins=[host_site.url], actor="cli:test"
        )
    page.goto(host_site.url)
    assert widget_frame(page).locator(".count-figure").count() == 1


def test_other_sites_may_read_the_api_but_not_sign_through_it(
    live_app: Flask, live_url: str, host_site: HostSite, browser_context
) -> None:
    from petition.api import service as keys

    petition = publish(live_app)
    with live_app.app_context(), session_scope() as session:
        _key, secret = keys.create_key(
            session, petition=session.merge(petition), name="Partner", actor="cli:test"
        )
    page = browser_context.new_page()
    page.goto(host_site.url)
    read = page.evaluate(
        "url => fetch(url).then(r => r.json()).then(j => j.signature_count)",
        f"{live_url}/api/v1/petitions/{SLUG}",
    )
    assert read == 0
    countries = page.evaluate(
        "url => fetch(url).then(r => r.json())", f"{live_url}/api/v1/petitions/{SLUG}/countries"
    )
    assert countries["countries"] == []

    body = '{"name": "Salma Haddad", "email": "salma@example.org", "country": "SY"}'
    # Even with a valid key, a page on another site cannot send the request: the
    # preflight gets no CORS permission.
    outcome = page.evaluate(
        """([url, key, body]) => fetch(url, {method: 'POST', body,
              headers: {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'}})
            .then(r => 'sent ' + r.status, e => 'blocked ' + e.name)""",
        [f"{live_url}/api/v1/petitions/{SLUG}/signatures", secret, body],
    )
    assert outcome == "blocked TypeError"
    # A "simple" request needs no preflight, but without a key it is refused, and
    # the page may not read the answer.
    simple = page.evaluate(
        """([url, body]) => fetch(url, {method: 'POST', body, headers: {'Content-Type': 'text/plain'}})
            .then(r => 'read ' + r.status, e => 'blocked ' + e.name)""",
        [f"{live_url}/api/v1/petitions/{SLUG}/signatures", body],
    )
    assert simple == "blocked TypeError"
    assert signatures(live_app) == []


def test_a_counter_in_arabic_from_the_snippet_options(
    live_app: Flask, live_url: str, host_site: HostSite, browser_context
) -> None:
    publish(live_app, goal=1000)
    snippet = published_snippet(live_app).replace(
        " async>", ' data-mode="count" data-lang="ar" data-title="عريضة" async>'
    )
    assert 'data-mode="count"' in snippet
    host_site.html = host_page(snippet)
    page = browser_context.new_page()
    page.goto(host_site.url)
    frame = widget_frame(page)
    assert "mode=count" in frame.url
    assert "lang=ar" in frame.url
    assert frame.evaluate("document.documentElement.dir") == "rtl"
    assert frame.locator("form").count() == 0
    assert frame.locator("progress").count() == 1
    assert page.locator("iframe").get_attribute("title") == "عريضة"
    assert_height_follows(page, frame)
    assert page.locator("iframe").bounding_box()["height"] < 300
