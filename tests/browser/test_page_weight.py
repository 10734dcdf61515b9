"""The petition page is light and private: at most 50 KB over the wire with
compression (the petition text itself excluded), and no request to any other host.

Compression is the reverse proxy's job (docs/deployment.md), so the test applies
gzip at level 6, what the documented proxy settings use, to what the service sends.
"""

from __future__ import annotations

import gzip
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import SLUG
from tests.helpers.servers import LiveServer

BUDGET = 50 * 1024
PETITION_TEXT = re.compile(r'(<div class="petition-text"[^>]*>).*?(</div>)', re.DOTALL)


def wire_size(body: bytes, content_type: str) -> int:
    """Bytes on the wire: text is compressed, images already are."""
    if content_type.startswith(("text/", "application/javascript", "application/json")):
        return len(gzip.compress(body, compresslevel=6))
    return len(body)


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_petition_page_within_budget_and_from_no_other_host(
    site: LiveServer, new_page: Any, lang: str, javascript: bool
) -> None:
    page: Page = new_page(java_script_enabled=javascript)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{site.url}/p/{SLUG}?lang={lang}", wait_until="networkidle")

    ours = urlsplit(site.url).netloc
    elsewhere = [
        r.url
        for r in requests
        if urlsplit(r.url).scheme != "data" and urlsplit(r.url).netloc != ours
    ]
    assert elsewhere == []

    total = 0
    sizes = {}
    for request in requests:
        response = request.response()
        if response is None or urlsplit(request.url).scheme == "data":
            continue
        body = response.body()
        content_type = response.headers.get("content-type", "")
        if request.resource_type == "document":
            text = body.decode()
            assert 'class="petition-text"' in text
            body = PETITION_TEXT.sub(r"\1\2", text).encode()
        sizes[request.url] = wire_size(body, content_type)
        total += sizes[request.url]
    assert total <= BUDGET, f"{total} bytes > {BUDGET}: {sizes}"
    print(f"petition page ({lang}, js={javascript}): {total} bytes compressed, {sizes}")


def test_live_count_refreshes_the_count_in_the_reader_language(
    site: LiveServer, new_page: Any
) -> None:
    import sqlalchemy as sa

    from petition.db import session_scope
    from petition.petitions.models import Petition

    page: Page = new_page()
    page.goto(f"{site.url}/p/{SLUG}?lang=ar")
    assert page.locator(".count-figure").inner_text() == "لا توقيعات مؤكَّدة بعد"
    with site.app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(signature_count=1234))
    # The script refreshes every 30 s while visible, and whenever the page becomes visible.
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    # (expect polls from Playwright's side: a polled page function would need 'unsafe-eval')
    expect(page.locator(".count-figure")).to_have_text("1,234 توقيعًا مؤكَّدًا", timeout=5000)
