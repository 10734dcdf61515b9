"""Chromium (the system's, driven by Playwright) against the app on a live server.

Browser tests run on SQLite only: what they check (markup, requests, focus) does
not depend on the database, and the other tests cover PostgreSQL.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from werkzeug.serving import make_server

from petition.config import PROJECT_ROOT
from petition.db import session_scope
from petition.petitions import service
from tests import system
from tests.helpers import DARAA
from tests.helpers.servers import LiveServer

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 level A and AA, every version's rules.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SLUG = "defend-the-people-of-daraa"
TRANSLATION = PROJECT_ROOT / "content" / "defend-the-people-of-daraa.ar.md"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only here (see the module docstring)."""
    path = tmp_path / "petition.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def site(live_server: LiveServer) -> LiveServer:
    """The live server with the Daraa petition and its Arabic translation."""
    with live_server.app.app_context(), session_scope() as session:
        service.publish(session, source=service.parse_petition_file(DARAA))
    translation = service.parse_file(TRANSLATION)
    assert isinstance(translation, service.TranslationSource)
    with live_server.app.app_context(), session_scope() as session:
        service.add_translation(session, source=translation)
    return live_server


@contextlib.contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 from a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations on the page, one line each."""
    if not AXE.exists():
        # npm installs axe-core (make install); without npm, the system packages bring it.
        fix = "make install" if system.CHECKS["npm"]() else system.install_command()
        system.unavailable(f"axe-core missing at {AXE}: run {fix}")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => `${v.id} (${v.impact}): ${v.help} at `"
        " + v.nodes.map(n => n.target.join(' ') + ' ' + n.html.slice(0, 120)).join(' | '))",
        WCAG_TAGS,
    )
    return list(result)
