"""Take the README's screenshots (docs/img/) with the system's Chromium.

    .venv/bin/python -m scripts.screenshots [NAME…]

Serves the app from a throwaway SQLite database with the petitions in content/,
on 127.0.0.1, and shoots the pages a signer sees, in English and in Arabic, at
1280 and 360 CSS pixels: the list, the petition, "check your mailbox" and
"confirmed". Names given on the command line take only those shots.

The figures are illustrative: the script stores 1,872 verified signatures from
ten countries (a dozen of them public) and a goal of 5,000, so the count, the
progress, the countries and the signers show. The real petition has no goal in
content/ and shows no progress bar until its organizers set one.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
import threading
from email import message_from_bytes, policy
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from petition import create_app
from petition.commands import init_migrate
from petition.config import PROJECT_ROOT, Settings
from petition.db import session_scope, utcnow
from petition.mail import worker
from petition.petitions import service
from petition.petitions.models import Petition
from petition.signing import service as signing
from petition.signing.models import Signature, SignatureSource, SignatureStatus

OUT = PROJECT_ROOT / "docs" / "img"
SLUG = "defend-the-people-of-daraa"
BASE_URL = "https://sign.example.org"  # what share links and the copy field show
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
# (file, what to show, language, viewport)
SHOTS = [
    ("petition-en.png", "petition", "en", WIDE),
    ("petition-ar.png", "petition", "ar", WIDE),
    ("petition-en-phone.png", "petition", "en", PHONE),
    ("petition-ar-phone.png", "petition", "ar", PHONE),
    ("sign-form-errors-ar-phone.png", "errors", "ar", PHONE),
    ("signed-en.png", "signed", "en", WIDE),
    ("signed-ar-phone.png", "signed", "ar", PHONE),
    ("confirmed-en-phone.png", "confirmed", "en", PHONE),
    ("confirmed-ar.png", "confirmed", "ar", WIDE),
    ("home-en.png", "home", "en", WIDE),
    ("home-ar-phone.png", "home", "ar", PHONE),
]
COUNTRIES = {"SY": 1120, "TR": 214, "DE": 187, "JO": 96, "LB": 71, "FR": 54, "GB": 48,
             "NL": 31, "SE": 29, "US": 22}  # fmt: skip
PUBLIC = [("Layla Haddad", "SY"), ("محمد الحوراني", "SY"), ("Anna Becker", "DE"),
          ("رنا العلي", "JO"), ("Yusuf Demir", "TR"), ("Karim Nassar", "LB"),
          ("Sara Lindqvist", "SE"), ("عمر الزعبي", "SY"), ("Claire Martin", "FR"),
          ("Tom Hughes", "GB"), ("هالة المصري", "SY"), ("Daan de Vries", "NL")]  # fmt: skip


def load(app: Flask) -> None:
    """The petitions of content/ and their translations, then the illustrative figures."""
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
        with session_scope() as session:
            petition = session.scalars(sa.select(Petition).where(Petition.slug == SLUG)).one()
            petition.goal = 5000
            rows = []
            start = utcnow() - dt.timedelta(days=20)
            countries = [code for code, n in COUNTRIES.items() for _ in range(n)]
            for i, country in enumerate(countries):
                rows.append(_verified(petition, i, country, start + dt.timedelta(minutes=15 * i)))
            # The newest signers are the public ones, so "Recent signers" lists them.
            for i, (name, country) in enumerate(PUBLIC, start=len(rows)):
                rows.append(
                    _verified(petition, i, country, utcnow(), name=name, is_public=True)
                    | {"email": f"public{i}@example.org"}
                )
            session.execute(sa.insert(Signature), rows)
        with session_scope() as session:
            while signing.fold_counts(session):
                pass


def _verified(
    petition: Petition,
    i: int,
    country: str,
    at: dt.datetime,
    *,
    name: str = "A signer",
    is_public: bool = False,
) -> dict[str, object]:
    assert petition.current_version_id is not None
    return {
        "petition_id": petition.id,
        "version_id": petition.current_version_id,
        "name": name,
        "email": f"signer{i}@example.org",
        "canonical_email": f"signer{i}@example.org",
        "country": country,
        "is_public": is_public,
        "status": SignatureStatus.VERIFIED,
        "source": SignatureSource.PAGE,
        "created_at": at,
        "verified_at": at,
    }


def sign(page: Page, base: str, lang: str, email: str) -> None:
    page.goto(f"{base}/p/{SLUG}?lang={lang}")
    page.fill("#name", "Layla Haddad")
    page.fill("#email", email)
    page.select_option("#country", "SY")
    with page.expect_navigation():
        page.click(".sign-form button[type=submit]")


def confirm_link(app: Flask, settings: Settings, email: str) -> str:
    """Send the queued mail to the development folder and read the link out of it."""
    worker.run(app, once=True)
    for path in sorted(worker.dev_mail_folder(settings).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == email:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = re.search(r"https?://[^/\s]+(/p/[\w-]+/confirm/[\w-]+)", body.get_content())
            assert found
            return found.group(1)
    raise LookupError(email)


def shoot(browser: Browser, app: Flask, settings: Settings, base: str, shot: tuple) -> Path:  # type: ignore[type-arg]
    name, what, lang, viewport = shot
    page = browser.new_page(viewport=viewport, java_script_enabled=False)
    if what == "petition":
        page.goto(f"{base}/p/{SLUG}?lang={lang}")
    elif what == "home":
        page.goto(f"{base}/?lang={lang}")
    elif what == "errors":  # the sign form after an empty submit
        page.goto(f"{base}/p/{SLUG}?lang={lang}")
        with page.expect_navigation():
            page.click(".sign-form button[type=submit]")
    elif what == "signed":
        sign(page, base, lang, f"{name}@example.org")
    elif what == "confirmed":
        email = f"{name}@example.org"
        sign(page, base, lang, email)
        page.goto(base + confirm_link(app, settings, email))
        with page.expect_navigation():
            page.click("main button[type=submit]")
    path = OUT / name
    page.screenshot(path=str(path))
    page.close()
    return path


def main(names: list[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="petition-shots-"))
    settings = Settings(instance_path=str(folder), base_url=BASE_URL, flag_min_fill_seconds=0)
    app = create_app(settings)
    init_migrate(app)
    load(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for shot in SHOTS:
            if not names or shot[0] in names:
                print(shoot(browser, app, settings, base, shot))
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
