"""At most once, even when the worker is SIGKILLed mid-send.

The worker commits the hand-over just before the SMTP DATA. Killed before it (at the
greeting, after RCPT) the message never reached the server and is sent once, by the next
worker after the lease. Killed after it (the server holds the DATA it received) the
message may have been accepted: the next worker never sends it again, marks it UNKNOWN,
logs it once, and ``petition status`` raises the alert. A real aiosmtpd, a real worker
process and a real SIGKILL.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from petition import create_app, worker
from petition.config import Settings
from petition.db import db, session_scope, utcnow
from petition.mail.models import OutboxMessage, OutboxStatus
from tests.helpers.servers import free_port
from tests.mail.test_delivery import (
    HoldingMailbox,
    kill_worker_while_held,
    queue,
    token,
)


@pytest.fixture(params=["greeting", "rcpt", "data"])
def phase_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, HoldingMailbox]]:
    # The first message held; once released, whatever reaches DATA is accepted.
    mailbox = HoldingMailbox(hold_after=0, accept_held=True, phase=request.param)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, mailbox
    mailbox.release.set()
    controller.stop()


def outbox_row(app: Flask) -> OutboxMessage:
    with app.app_context(), session_scope(write=False) as session:
        return session.scalars(sa.select(OutboxMessage)).one()


@pytest.mark.slow
def test_a_worker_killed_mid_send_never_gets_a_message_to_smtp_twice(
    settings: Settings,
    phase_server: tuple[int, HoldingMailbox],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, mailbox = phase_server
    settings = dataclasses.replace(
        settings,
        mail_url=f"smtp://127.0.0.1:{port}",
        mail_lease_seconds=3,
        mail_send_timeout_seconds=2,
    )
    app = create_app(settings)
    queue(app, 1)
    log = tmp_path / "worker.log"
    kill_worker_while_held(settings, mailbox, log)
    held = outbox_row(app)
    assert held.claimed_by is not None
    assert held.lease_until is not None
    assert (held.handed_over_at is not None) == (mailbox.phase == "data")
    mailbox.release.set()

    # The next worker, once the dead one's lease has passed.
    time.sleep(max(0.0, (held.lease_until - utcnow()).total_seconds()) + 0.1)
    with caplog.at_level(logging.ERROR, logger="petition.mail.worker"):
        worker.run(app, once=True)
        worker.run(app, once=True)
    row = outbox_row(app)
    unknown_lines = [r for r in caplog.records if "outcome unknown" in r.getMessage()]
    if mailbox.phase == "data":
        # The server got it once, from the dead worker; nobody sends it again.
        assert [token(m) for m in mailbox.received] == ["token0"]
        assert (row.status, row.attempts, row.claimed_by) == (OutboxStatus.UNKNOWN, 1, None)
        assert (row.to_address, row.payload) == (None, None)
        assert row.last_error is not None
        assert "outcome unknown" in row.last_error
        assert len(unknown_lines) == 1
        result = app.test_cli_runner().invoke(args=["petition", "status"])
        assert "0 failed, 1 unknown;" in result.output
        assert "ALERT: 1 mail(s) with outcome unknown" in result.output
        assert result.exit_code == 1
    else:
        # It never reached the server before the kill: sent once, by the next worker.
        assert [token(m) for m in mailbox.received] == ["token0"]
        assert [token(m) for m in mailbox.messages] == ["token0"]
        assert (row.status, row.attempts, row.claimed_by) == (OutboxStatus.SENT, 2, None)
        assert unknown_lines == []
    with app.app_context():
        db.engine.dispose()


def test_a_connection_lost_after_data_leaves_the_outcome_unknown_and_nothing_resent(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # A live worker this time: the server takes the DATA and never answers, and the
    # worker's watchdog cuts the connection after the send timeout.
    mailbox = HoldingMailbox(hold_after=0, phase="data")
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = create_app(
            dataclasses.replace(
                settings,
                mail_url=f"smtp://127.0.0.1:{controller.port}",
                mail_send_timeout_seconds=1,
                mail_lease_seconds=2,
            )
        )
        queue(app, 1)
        with caplog.at_level(logging.ERROR, logger="petition.mail.worker"):
            worker.run(app, once=True)
            mailbox.release.set()
            worker.run(app, once=True)
    finally:
        mailbox.release.set()
        controller.stop()
    row = outbox_row(app)
    assert [token(m) for m in mailbox.received] == ["token0"]
    assert (row.status, row.attempts, row.to_address) == (OutboxStatus.UNKNOWN, 1, None)
    assert row.last_error == "outcome unknown: no answer within 1 s"
    assert len([r for r in caplog.records if "outcome unknown" in r.getMessage()]) == 1
    with app.app_context():
        db.engine.dispose()
