"""At most once: each message claimed with a lease and recorded as it is sent.

A worker killed in the middle of its work leaves every message it sent recorded; the
one in its hands, if the server never got its DATA, is sent again by another worker
after its lease, with the same Message-ID; the SMTP server (a real aiosmtpd) sees every
message exactly once. (Killed after DATA: tests/mail/test_hand_over.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import IO

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from petition import create_app, worker
from petition.config import PROJECT_ROOT, Settings
from petition.db import db, session_scope, utcnow
from petition.mail import service as mail
from petition.mail.models import MailPriority, OutboxMessage, OutboxStatus
from petition.mail.worker import claim_next
from tests.helpers.mail import Mailbox, link_in
from tests.helpers.servers import free_port


def queue(app: Flask, count: int, *, priority: int = MailPriority.NORMAL, first: int = 0) -> None:
    with app.app_context(), session_scope() as session:
        for i in range(first, first + count):
            mail.enqueue(
                session,
                template="confirm",
                to=f"signer{i}@example.org",
                locale="en",
                payload={
                    "name": f"Signer {i}",
                    "petition_title": "Defend the People of Daraa",
                    "confirm_url": f"http://localhost/p/daraa/confirm/token{i}",
                    "withdraw_url": f"http://localhost/p/daraa/withdraw/w{i}",
                    "expires_days": 7,
                },
                priority=priority,
            )


def token(message: EmailMessage) -> str:
    return link_in(message, "confirm").rsplit("/", 1)[1]


@dataclasses.dataclass
class HoldingMailbox(Mailbox):
    """Accepts ``hold_after`` messages, then holds the next one unanswered until released,
    and refuses it (451: the server never accepted it) or, with ``accept_held``, accepts it.

    ``phase`` is where it holds: ``data`` (the whole message received, the worker's
    hand-over committed), ``rcpt`` (the recipient received, before the hand-over) or
    ``greeting`` (connected, EHLO unanswered: nothing of the message sent yet).
    ``received`` holds every DATA the server got, answered or not (a held one's
    connection may be gone when it is released)."""

    hold_after: int = 10
    accept_held: bool = False
    phase: str = "data"
    holding: threading.Event = dataclasses.field(default_factory=threading.Event)
    release: threading.Event = dataclasses.field(default_factory=threading.Event)
    held_to: str = ""
    received: list[EmailMessage] = dataclasses.field(default_factory=list)

    def _holds(self, phase: str) -> bool:
        with self.lock:
            return (
                phase == self.phase
                and len(self.messages) >= self.hold_after
                and not self.release.is_set()
            )

    async def _hold(self) -> None:
        self.holding.set()
        while not self.release.is_set():
            await asyncio.sleep(0.02)

    async def handle_EHLO(  # noqa: N802
        self, server: object, session: object, envelope: object, hostname: str, responses: list[str]
    ) -> list[str]:
        if self._holds("greeting"):
            await self._hold()
        session.host_name = hostname  # type: ignore[attr-defined]
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: object, session: object, envelope: object, address: str, options: list[str]
    ) -> str:
        if self._holds("rcpt"):
            self.held_to = address
            await self._hold()
            if not self.accept_held:
                return "451 4.3.0 Not accepted"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        received = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[attr-defined]
        with self.lock:
            self.received.append(received)  # type: ignore[arg-type]
        if self._holds("data"):
            self.held_to = str(received["To"])
            await self._hold()
            if not self.accept_held:
                return "451 4.3.0 Not accepted"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_server() -> Iterator[tuple[Controller, HoldingMailbox]]:
    mailbox = HoldingMailbox(phase="rcpt")
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    mailbox.release.set()
    controller.stop()


def worker_process(settings: Settings, log: IO[bytes], **env: str) -> subprocess.Popen[bytes]:
    """``flask petition worker`` in a process of its own, configured as the test's app."""
    environ = {
        **os.environ,
        "PETITION_DATABASE_URL": settings.database_url,
        "PETITION_INSTANCE_PATH": settings.instance_path,
        "PETITION_BASE_URL": settings.base_url,
        "PETITION_MAIL_URL": settings.mail_url,
        "PETITION_MAIL_LEASE_SECONDS": str(settings.mail_lease_seconds),
        "PETITION_MAIL_SEND_TIMEOUT_SECONDS": str(settings.mail_send_timeout_seconds),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "petition", "worker"],
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def kill_worker_while_held(
    settings: Settings, mailbox: HoldingMailbox, log: Path, *, wait: float = 30, **env: str
) -> None:
    """Start a worker and SIGKILL it, as the OOM killer or a deploy would, once the
    mailbox holds a message in the middle of its conversation; return when it is gone."""
    with log.open("wb") as output:
        process = worker_process(settings, output, **env)
        try:
            assert mailbox.holding.wait(wait), log.read_text()
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


@pytest.mark.slow
def test_worker_killed_mid_batch_then_a_new_worker_sends_each_message_exactly_once(
    settings: Settings, holding_server: tuple[Controller, HoldingMailbox], tmp_path: Path
) -> None:
    controller, mailbox = holding_server
    settings = dataclasses.replace(
        settings,
        mail_url=f"smtp://127.0.0.1:{controller.port}",
        mail_lease_seconds=5,
        mail_send_timeout_seconds=2,
    )
    app = create_app(settings)
    queue(app, 30)
    log = tmp_path / "worker.log"
    # Ten accepted, the eleventh in the worker's hands (its recipient sent, not yet
    # answered) when the worker dies.
    kill_worker_while_held(settings, mailbox, log)
    mailbox.release.set()
    with app.app_context(), session_scope(write=False) as session:
        rows = session.execute(
            sa.select(
                OutboxMessage.status,
                OutboxMessage.claimed_by,
                OutboxMessage.lease_until,
                OutboxMessage.message_id,
            )
        ).all()
    assert Counter(row.status for row in rows) == {OutboxStatus.SENT: 10, "queued": 20}
    [(_, holder, lease_until, held_message_id)] = [row for row in rows if row.claimed_by]
    assert holder
    assert lease_until is not None

    # A new worker: the nineteen never claimed at once, the held one when its lease passed.
    worker.run(app, once=True)
    assert len(mailbox.messages) == 29
    time.sleep(max(0.0, (lease_until - utcnow()).total_seconds()) + 0.1)
    worker.run(app, once=True)

    received = Counter(token(message) for message in mailbox.messages)
    assert received == {f"token{i}": 1 for i in range(30)}
    [resent] = [m for m in mailbox.messages if m["To"] == mailbox.held_to]
    # The same Message-ID as the attempt the worker died in.
    assert resent["Message-ID"] == held_message_id
    with app.app_context(), session_scope(write=False) as session:
        statuses = session.scalars(sa.select(OutboxMessage.status)).all()
        held = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.message_id == held_message_id)
        ).one()
    assert set(statuses) == {OutboxStatus.SENT}
    assert (held.attempts, held.claimed_by) == (2, None)
    with app.app_context():
        db.engine.dispose()


def test_confirmations_go_before_bulk_mail_then_the_longest_due_first(
    mail_app: Flask, mailbox: Mailbox
) -> None:
    queue(mail_app, 3, priority=MailPriority.BULK)
    queue(mail_app, 2, priority=MailPriority.HIGH, first=3)
    queue(mail_app, 1, priority=MailPriority.BULK, first=5)
    with mail_app.app_context(), session_scope() as session:
        # The last bulk message has waited longest.
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.to_address == "signer5@example.org")
            .values(next_attempt_at=utcnow() - dt.timedelta(minutes=5))
        )
    worker.run(mail_app, once=True)
    order = [token(message) for message in mailbox.messages]
    assert order == ["token3", "token4", "token5", "token0", "token1", "token2"]


def test_a_held_message_is_not_taken_by_another_worker_until_its_lease_passes(
    app: Flask,
) -> None:
    queue(app, 1)
    lease = dt.timedelta(minutes=10)
    with app.app_context():
        with session_scope() as session:
            first = claim_next(session, worker_id="a", lease=lease)
        with session_scope() as session:
            assert claim_next(session, worker_id="b", lease=lease) is None
        with session_scope() as session:
            session.execute(
                sa.update(OutboxMessage).values(lease_until=utcnow() - dt.timedelta(seconds=1))
            )
        with session_scope() as session:
            again = claim_next(session, worker_id="b", lease=lease)
    assert first is not None
    assert again is not None
    assert (again.id, again.message_id, again.attempts) == (first.id, first.message_id, 2)


def test_every_message_has_its_own_message_id_in_the_service_domain(app: Flask) -> None:
    queue(app, 2)
    with app.app_context(), session_scope(write=False) as session:
        ids = session.scalars(sa.select(OutboxMessage.message_id)).all()
    assert len(set(ids)) == 2
    assert all(i.startswith("<") and i.endswith("@localhost>") for i in ids)
