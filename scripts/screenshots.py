"""Take the README's screenshots (docs/img/) with the system's Chromium.

    .venv/bin/python -m scripts.screenshots

Serves the app from a throwaway SQLite database with the petitions in content/,
on 127.0.0.1, and shoots the petition page in English and in Arabic.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from petition import create_app
from petition.commands import init_migrate
from petition.config import PROJECT_ROOT, Settings
from petition.db import session_scope
from petition.petitions import service

OUT = PROJECT_ROOT / "docs" / "img"
SLUG = "defend-the-people-of-daraa"
SHOTS = [
    # (file, path, viewport, full page)
    ("petition-en.png", f"/p/{SLUG}?lang=en", {"width": 900, "height": 760}, False),
    ("petition-ar.png", f"/p/{SLUG}?lang=ar", {"width": 900, "height": 760}, False),
    ("sign-form-errors-ar-phone.png", None, {"width": 360, "height": 740}, False),
]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="petition-shots-"))
    app = create_app(Settings(instance_path=str(folder), base_url="http://127.0.0.1"))
    init_migrate(app)
    with app.app_context():
        upgrade()
        sources = [service.parse_file(p) for p in sorted((PROJECT_ROOT / "content").glob("*.md"))]
        with session_scope() as session:
            for source in sources:
                if isinstance(source, service.PetitionSource):
                    service.publish(session, source=source)
        with session_scope() as session:
            for source in sources:
                if isinstance(source, service.TranslationSource):
                    service.add_translation(session, source=source)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for name, path, viewport, full_page in SHOTS:
            page = browser.new_page(viewport=viewport, java_script_enabled=False)
            if path is None:  # the sign form after an empty submit, in Arabic, on a phone
                page.goto(f"{base}/p/{SLUG}?lang=ar")
                with page.expect_navigation():
                    page.click("button[type=submit]")
            else:
                page.goto(base + path)
            page.screenshot(path=str(OUT / name), full_page=full_page)
            page.close()
            print(OUT / name)
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
