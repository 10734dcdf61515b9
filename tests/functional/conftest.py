"""Browser fixtures: the app served on a real port, a host page on another site, Chromium.

The service answers on http://localhost:PORT and the host page on
http://127.0.0.2:PORT, so the widget's frame is cross-site, as on the web.
(localhost, unlike a bare IP, may keep Secure cookies over plain HTTP, which lets
a test show that the frame could not set one.)
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from petition import create_app
from petition.config import Settings
from petition.db import db
from tests import system
from tests.helpers.servers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextlib.contextmanager
def _serve(server: BaseWSGIServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_app(mail_settings: Settings) -> Iterator[Flask]:
    """The app, sending mail to the test SMTP server, served on a real port."""
    port = free_port()
    # A person needs a second to fill in the form; quicker submissions are flagged.
    application = create_app(
        replace(mail_settings, base_url=f"http://localhost:{port}", flag_min_fill_seconds=1)
    )
    server = make_server("127.0.0.1", port, application, threaded=True)
    with _serve(server):
        yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def live_url(live_app: Flask) -> str:
    return str(live_app.config["PETITION_SETTINGS"].base_url)


class HostSite:
    """A page on another site; ``html`` is what it serves at /."""

    def __init__(self) -> None:
        self.html = "<!doctype html><title>empty</title>"
        self.url = ""


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    site = HostSite()

    def app(environ: dict, start: Callable) -> object:  # type: ignore[type-arg]
        request = Request(environ)
        if request.path != "/":
            return Response("not found", status=404)(environ, start)
        return Response(site.html, mimetype="text/html")(environ, start)

    server = make_server("127.0.0.2", 0, app, threaded=True)
    site.url = f"http://127.0.0.2:{server.server_port}"
    with _serve(server):
        yield site


@pytest.fixture
def browser_context(tmp_path: Path, playwright):  # type: ignore[no-untyped-def]
    """Headless Chromium with third-party cookies blocked in its profile."""
    if not os.path.exists(CHROMIUM):
        system.unavailable(f"no Chromium at {CHROMIUM}: run {system.install_command()}")
    profile = tmp_path / "chromium-profile"
    (profile / "Default").mkdir(parents=True)
    # The user setting "Block third-party cookies" (cookie_controls_mode 1).
    (profile / "Default" / "Preferences").write_text(
        json.dumps({"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}})
    )
    # The session's Playwright (tests/conftest.py): a second one cannot start here.
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1000, "height": 900},
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()
