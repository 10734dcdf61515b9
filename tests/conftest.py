"""Fixtures: the app on SQLite and on PostgreSQL, a real SMTP server (helpers: tests/helpers/).

Every test that uses ``app`` runs once per database. The schema always comes
from the Alembic migrations. Tests commit for real (the concurrency and worker
tests must), so each test gets a fresh copy of a migrated SQLite file, or a
PostgreSQL database whose tables are emptied afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from petition import create_app
from petition.commands import init_migrate
from petition.config import PROJECT_ROOT, Settings
from petition.db import db, session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from tests import system
from tests.helpers import DARAA, REQUIRE_ALL, schedule
from tests.helpers.mail import Mailbox
from tests.helpers.routing import share_compiled_url_builders
from tests.helpers.servers import LiveServer, free_port
from tests.helpers.templates import share_compiled_templates

POSTGRES_ADMIN_URL = os.environ.get(
    "PETITION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PETITION_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TIMES = schedule.FileTimes()


def pytest_configure(config: pytest.Config) -> None:
    # Each test's app compiled its templates and URL builders again (tests/helpers/).
    share_compiled_templates()
    share_compiled_url_builders()


@pytest.hookimpl(trylast=True)  # after the conftest files that add markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The longest first (tests/helpers/schedule.py): the test processes share them from
    # the start, and the run ends on short tests instead of one process's long tail.
    long_tests = schedule.recorded(config, schedule.LONG_TESTS_KEY)
    items[:] = schedule.longest_first(items, schedule.recorded(config), long_tests)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    TIMES.add(report)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    # With --durations, the time per file too: where a run's time goes, not only its tops.
    if config.option.durations is not None:
        TIMES.report(terminalreporter, config.option.durations or len(TIMES.seconds))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller has every report
        TIMES.save(session.config)


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _backends() -> list[object]:
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    params.append(pytest.param("postgresql", id="postgresql"))
    return params


# --- translations ----------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """Compile the message catalogs when a .po is newer than its .mo (``make install``
    does this too; running pytest directly must not test an Arabic site in English).
    Each test process (pytest-xdist) may do it at once: each writes a file of its own and
    renames it into place, so no process ever reads a half-written catalog."""
    for po in (PROJECT_ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            part = mo.with_name(f"{mo.name}.{os.getpid()}")
            with po.open("rb") as source, part.open("wb") as target:
                write_mo(target, read_po(source, locale=po.parent.parent.name))
            part.replace(mo)


@pytest.fixture(scope="session", autouse=True)
def system_libraries() -> None:
    """A test that makes a PDF without Pango on the machine skips, naming the fix."""
    system.guard_weasyprint()


# --- databases -------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; every test gets its own copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    app = create_app(
        Settings(instance_path=str(folder), database_url=f"sqlite:///{path}", testing=True)
    )
    init_migrate(app)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run, migrated once, dropped at the end."""
    if not _postgres_reachable():
        if REQUIRE_ALL:
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    # One per test process (pytest-xdist's worker id in the name, for a person reading
    # pg_stat_activity); the random part keeps parallel runs of the suite apart.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"petition_test_{worker}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    app = create_app(
        Settings(
            database_url=url,
            testing=True,
            instance_path=tempfile.mkdtemp(prefix=name),
        )
    )
    init_migrate(app)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "petition.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    empty_tables = request.getfixturevalue("empty_postgres_tables")
    yield url
    empty_tables()


@pytest.fixture(scope="session")
def empty_postgres_tables(postgres_database: str) -> Iterator[Callable[[], None]]:
    """Empty every table and restart every sequence after a PostgreSQL test, over one
    connection kept for the run. DELETE with foreign-key triggers off (a superuser's
    ``session_replication_role``, as the test server's trust login is) takes a few
    milliseconds; TRUNCATE makes new files for every table and index and took about a
    quarter of a second per test here, a fifth of the suite's PostgreSQL half. Without
    that privilege, TRUNCATE as before."""
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        restart = (
            "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"
        )
        # The names come from pg_tables, quoted by quote_ident.
        deletes = "".join(f"DELETE FROM {table};" for table in tables)  # noqa: S608
        fast = f"BEGIN; SET LOCAL session_replication_role = replica; {deletes} {restart}; COMMIT"
        slow = f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
        try:
            conn.execute(fast)
            statement = fast
        except psycopg.errors.InsufficientPrivilege:
            conn.execute("ROLLBACK")
            statement = slow

        def empty() -> None:
            conn.execute(statement)

        yield empty


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        instance_path=str(tmp_path / "instance"),
        base_url="http://localhost",
        # Tests read the page right after changing what it shows; the cache has its own test.
        page_cache_seconds=0,
        testing=True,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def petition(app: Flask) -> Petition:
    """The Daraa petition, open, loaded from the project's copy of its text."""
    with app.app_context(), session_scope() as session:
        return petitions.publish(session, source=petitions.parse_petition_file(DARAA))


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build the app with some settings changed; the Daraa petition is loaded once."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        application = create_app(replace(settings, **overrides))
        if not built:
            with application.app_context(), session_scope() as session:
                petitions.publish(session, source=petitions.parse_petition_file(DARAA))
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.engine.dispose()


# --- mail ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Controller, Mailbox]) -> Iterator[Mailbox]:
    smtp_server[1].clear()
    yield smtp_server[1]
    smtp_server[1].clear()


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: tuple[Controller, Mailbox]) -> Settings:
    controller = smtp_server[0]
    return replace(settings, mail_url=f"smtp://127.0.0.1:{controller.port}")


@pytest.fixture
def mail_app(mail_settings: Settings) -> Iterator[Flask]:
    """The app sending through the test's real SMTP server."""
    application = create_app(mail_settings)
    yield application
    with application.app_context():
        db.engine.dispose()


# --- a real HTTP server --------------------------------------------------------


@pytest.fixture
def live_server(mail_app: Flask) -> Iterator[LiveServer]:
    """``mail_app`` served over HTTP from a thread (with Werkzeug's access log)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), mail_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(mail_app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)


# --- Chromium --------------------------------------------------------------------

CHROMIUM = os.environ.get("PETITION_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright for the session: a second sync Playwright cannot start in the same
    thread while one runs, so every browser fixture launches through this one."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        system.unavailable(f"no Chromium at {CHROMIUM}: run {system.install_command()}")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """The system's Chromium, driven by Playwright (which cannot download its own here)."""
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield chromium
    chromium.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Any]:
    """Open pages in fresh contexts (options as for ``browser.new_context``)."""
    contexts = []

    def _open(**options: Any) -> Page:
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


# --- a PostgreSQL cluster of the tests' own, for fault tests ----------------------


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[Any]:
    """A cluster on a free port that fault tests stop, crash and start again (never the
    machine's own); a migrated template database, copied for each test."""
    from tests.helpers.postgres import BINDIR, OwnPostgres

    if BINDIR is None:
        system.unavailable(
            f"no PostgreSQL server binaries (initdb): run {system.install_command()}"
        )
    cluster = OwnPostgres()
    cluster.start()
    url = cluster.new_database()
    template = url.rsplit("/", 1)[1]
    app = create_app(
        Settings(database_url=url, testing=True, instance_path=str(cluster.folder / "instance"))
    )
    init_migrate(app)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    cluster.template = template  # type: ignore[attr-defined]
    yield cluster
    cluster.remove()
