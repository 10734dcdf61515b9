"""The worker rides through its dependencies failing, and stops only when told.

Real parts: a PostgreSQL cluster of the test's own (stopped and crashed by its PID),
aiosmtpd servers that hang or hold a message, the worker in a thread or a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from petition import create_app, worker
from petition.config import Settings
from petition.db import db, session_scope, utcnow
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing.models import Signature, SignatureStatus
from tests.helpers import DARAA
from tests.helpers.mail import Mailbox
from tests.helpers.servers import free_port
from tests.mail.test_delivery import HoldingMailbox, queue, worker_process
from tests.signing.test_service import do_sign, signer

pytestmark = pytest.mark.faults


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def running(app: Flask) -> Iterator[threading.Thread]:
    """The worker's loops in a thread, as ``flask petition worker`` runs them."""
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run, args=(app,), kwargs={"stop": stop, "idle_sleep": 0.1}, daemon=True
    )
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()


def publish(app: Flask) -> Petition:
    with app.app_context(), session_scope() as session:
        return petitions.publish(session, source=petitions.parse_petition_file(DARAA))


def confirm_all(app: Flask) -> None:
    """As confirmations do: each writes only its own row; the fold counts them."""
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(Signature).values(status=SignatureStatus.VERIFIED, verified_at=utcnow())
        )


def count(app: Flask, petition: Petition) -> int:
    with app.app_context(), session_scope(write=False) as session:
        return int(
            session.scalar(sa.select(Petition.signature_count).where(Petition.id == petition.id))
            or 0
        )


def last_error(app: Flask) -> str | None:
    with app.app_context(), session_scope(write=False) as session:
        return session.scalar(sa.select(OutboxMessage.last_error))


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# --- PostgreSQL restarted and crashed --------------------------------------------------


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGQUIT], ids=["restarted", "crashed"])
def test_worker_keeps_running_across_a_postgresql_restart_and_sends_what_was_queued(
    own_postgres: Any,
    how: signal.Signals,
    smtp_server: tuple[Controller, Mailbox],
    mailbox: Mailbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    controller = smtp_server[0]
    app = create_app(
        Settings(
            database_url=own_postgres.new_database(own_postgres.template),
            instance_path=str(tmp_path / "instance"),
            base_url="http://localhost",
            mail_url=f"smtp://127.0.0.1:{controller.port}",
            fold_interval_seconds=1,
            page_cache_seconds=0,
            testing=True,
        )
    )
    petition = publish(app)
    try:
        with running(app) as thread:
            do_sign(app, petition, signer("before@example.org"))
            wait_for(lambda: mailbox.to("before@example.org"), 10, "the first mail")
            own_postgres.stop(how)
            time.sleep(1.5)  # the worker's loops meet the outage and back off
            own_postgres.start()
            # The next unit of work after the restart succeeds (pre-ping).
            do_sign(app, petition, signer("after@example.org"))
            wait_for(lambda: mailbox.to("after@example.org"), 15, "the mail queued after it")
            confirm_all(app)
            wait_for(lambda: count(app, petition) == 2, 15, "the fold counting again")
            assert thread.is_alive()
    finally:
        with app.app_context():
            db.engine.dispose()
    assert len(mailbox.to("before@example.org")) == 1
    assert len(mailbox.to("after@example.org")) == 1
    # One line when the outage starts and one when it ends, per loop; no traceback.
    assert len(warnings_about(caplog, "database (mail) unavailable")) <= 1
    assert len(warnings_about(caplog, "database (fold) unavailable")) == 1
    assert len(warnings_about(caplog, "database (fold) available again")) == 1
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith("petition")]


# --- an SMTP server that accepts, then stops answering ----------------------------------


@dataclasses.dataclass
class HangingMailbox(Mailbox):
    """Answers the greeting and EHLO, then hangs at MAIL FROM while ``hanging`` is set."""

    hanging: threading.Event = dataclasses.field(default_factory=threading.Event)
    hung: threading.Event = dataclasses.field(default_factory=threading.Event)

    async def handle_MAIL(  # noqa: N802
        self, server: object, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        while self.hanging.is_set():
            self.hung.set()
            await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"


@pytest.fixture
def hanging_server() -> Iterator[tuple[Controller, HangingMailbox]]:
    mailbox = HangingMailbox()
    mailbox.hanging.set()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    mailbox.hanging.clear()
    controller.stop()


def test_the_count_rises_while_smtp_hangs_and_the_mail_goes_once_it_answers(
    settings: Settings,
    hanging_server: tuple[Controller, HangingMailbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    controller, mailbox = hanging_server
    app = create_app(
        dataclasses.replace(
            settings,
            mail_url=f"smtp://127.0.0.1:{controller.port}",
            mail_command_timeout_seconds=1,
            mail_send_timeout_seconds=2,
            mail_lease_seconds=10,
            fold_interval_seconds=1,
        )
    )
    petition = publish(app)
    do_sign(app, petition, signer())
    try:
        with running(app):
            assert mailbox.hung.wait(10)
            hung_at = time.monotonic()
            confirm_all(app)
            # Counting does not wait on mail: within the fold interval (and a little).
            wait_for(lambda: count(app, petition) == 1, 3, "the count while SMTP hangs")
            assert time.monotonic() - hung_at < 3
            # The worker gave up on that connection within its timeout, without spending
            # one of the message's attempts, and will try again.
            wait_for(lambda: last_error(app), 4, "the send cut off")
            assert mailbox.messages == []
            mailbox.hanging.clear()
            wait_for(lambda: mailbox.to("layla@example.org"), 15, "the mail once SMTP answers")
        with app.app_context(), session_scope(write=False) as session:
            row = session.scalars(sa.select(OutboxMessage)).one()
    finally:
        # Last: a connection opened after dispose() stays open until it is collected,
        # and its ResourceWarning then fails whichever test is running.
        with app.app_context():
            db.engine.dispose()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    assert len(mailbox.to("layla@example.org")) == 1
    assert len(warnings_about(caplog, "SMTP server unavailable")) == 1


# --- stopping ---------------------------------------------------------------------------


@pytest.fixture
def accepting_holder() -> Iterator[tuple[Controller, HoldingMailbox]]:
    mailbox = HoldingMailbox(hold_after=2, accept_held=True)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    mailbox.release.set()
    controller.stop()


def test_sigterm_stops_the_worker_after_the_message_in_hand(
    settings: Settings, accepting_holder: tuple[Controller, HoldingMailbox], tmp_path: Path
) -> None:
    controller, mailbox = accepting_holder
    settings = dataclasses.replace(settings, mail_url=f"smtp://127.0.0.1:{controller.port}")
    app = create_app(settings)
    queue(app, 6)
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = worker_process(settings, output)
        try:
            assert mailbox.holding.wait(30), log.read_text()
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert process.poll() is None  # still sending the third
            mailbox.release.set()
            assert process.wait(15) == 0
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    with app.app_context(), session_scope(write=False) as session:
        statuses = session.scalars(sa.select(OutboxMessage.status).order_by(OutboxMessage.id))
        assert list(statuses) == [OutboxStatus.SENT] * 3 + [OutboxStatus.QUEUED] * 3
        assert (
            session.scalar(sa.select(sa.func.count()).where(OutboxMessage.claimed_by.is_not(None)))
            == 0
        )
    assert len(mailbox.messages) == 3
    assert "stopping after the message in hand" in log.read_text()
    with app.app_context():
        db.engine.dispose()
