"""`petition status`: exit 0 when the outbox, the fold and the workers move; 1 when stuck."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope, utcnow
from petition.mail.heartbeat import heartbeats
from petition.mail.models import OutboxMessage, WorkerHeartbeat
from tests.mail.test_delivery import queue
from tests.test_worker import running, wait_for


def status(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["petition", "status"])
    return result.exit_code, result.output


def beats(app: Flask) -> list[WorkerHeartbeat]:
    with app.app_context(), session_scope(write=False) as session:
        return heartbeats(session)


def test_status_is_zero_while_a_worker_runs_and_nothing_waits(app: Flask) -> None:
    queue(app, 2)
    with running(app):
        wait_for(lambda: beats(app), 10, "the worker's first heartbeat")
        wait_for(lambda: status(app)[0] == 0, 10, "the mail sent")
        code, output = status(app)
    assert code == 0, output
    assert "outbox: 0 queued, 0 due, 0 failed, 0 unknown; oldest due -" in output
    [beat] = [line for line in output.splitlines() if line.startswith("worker ")]
    assert "heartbeat 0 s ago" in beat or "heartbeat 1 s ago" in beat
    assert output.rstrip().endswith("ok")
    # A worker that stopped cleanly is no longer expected.
    assert beats(app) == []


def test_status_is_one_with_a_stuck_outbox_or_no_worker(app: Flask) -> None:
    code, output = status(app)
    assert code == 1
    assert "STUCK: no worker has beaten within 60 s" in output

    queue(app, 1)
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(OutboxMessage).values(next_attempt_at=utcnow() - dt.timedelta(hours=1))
        )
        now = utcnow()
        session.add(
            WorkerHeartbeat(
                worker_id="host:1:abc", started_at=now, beat_at=now, mail_at=now, folded_at=now
            )
        )
    code, output = status(app)
    assert code == 1
    # An hour, and the seconds this test took since (several under load).
    due = re.search(r"outbox: 1 queued, 1 due, 0 failed, 0 unknown; oldest due (\d+) s", output)
    assert due is not None, output
    assert 3600 <= int(due.group(1)) < 3660
    stuck = re.search(r"STUCK: mail has been due for (\d+) s", output)
    assert stuck is not None, output
    assert 3600 <= int(stuck.group(1)) < 3660
    assert "no worker" not in output
