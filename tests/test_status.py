"""`petition status`: exit 0 when the outbox, the fold and the workers move; 1 when stuck."""

from __future__ import annotations

import datetime as dt
import re

import pytest
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
        # Status is 0 from the first heartbeat on; the mail is sent soon after.
        wait_for(lambda: "outbox: 0 queued" in status(app)[1], 10, "the mail sent")
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


def _beat(app: Flask, *, started_ago: float, mail_ago: float | None) -> None:
    now = utcnow()
    with app.app_context(), session_scope() as session:
        session.add(
            WorkerHeartbeat(
                worker_id="host:1:abc",
                started_at=now - dt.timedelta(seconds=started_ago),
                beat_at=now,
                mail_at=None if mail_ago is None else now - dt.timedelta(seconds=mail_ago),
                folded_at=now,
            )
        )


def test_a_worker_whose_first_beat_came_before_its_mail_loop_is_not_stuck(app: Flask) -> None:
    # The heartbeat thread may beat before the mail loop has begun its first pass.
    _beat(app, started_ago=1, mail_ago=None)
    code, output = status(app)
    assert code == 0, output
    assert "mail loop - ago" in output


@pytest.mark.parametrize(
    ("started_ago", "mail_ago"), [(3600, None), (3600, 3000)], ids=["never-began", "stalled"]
)
def test_a_mail_loop_without_progress_is_stuck(
    app: Flask, started_ago: float, mail_ago: float | None
) -> None:
    # The bound is two send timeouts and a minute (180 s by default).
    _beat(app, started_ago=started_ago, mail_ago=mail_ago)
    code, output = status(app)
    assert code == 1
    assert "STUCK: the mail loop of worker host:1:abc makes no progress" in output
