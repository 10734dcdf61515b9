"""A person signs in a real browser: the bot trap stays out of sight and out of the
tab order, the form's timer goes along, and the signature is not flagged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.abuse.conftest import SLUG, all_signatures
from tests.helpers.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def served(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, str]]:
    app = make_app(flag_min_fill_seconds=2)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_signer_in_a_browser_is_not_flagged(served: tuple[Flask, str], new_page: Any) -> None:
    # The session's Chromium (tests/conftest.py): a second sync Playwright in the same
    # thread would refuse to start inside the first one's event loop.
    app, base = served
    page = new_page()
    page.goto(f"{base}/p/{SLUG}")
    trap = page.locator('input[name="website"]')
    box = trap.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 0  # off-screen for people
    assert trap.get_attribute("tabindex") == "-1"

    page.fill("#name", "Layla Haddad")
    page.fill("#email", "layla@example.org")
    page.select_option("#country", "SY")
    # Tabbing on from the postcode reaches the checkbox, never the trap.
    page.focus("#postcode")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") != "website"

    time.sleep(2.2)  # a person takes at least this long
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/p/{SLUG}/signed")
    assert "Check your mailbox" in page.content()
    [signature] = all_signatures(app)
    assert (signature.is_held, signature.flag_reasons) == (False, None)
