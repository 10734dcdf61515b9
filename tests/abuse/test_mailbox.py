"""The mail limit per mailbox lives in the database: exact across processes whatever the
limiter's store (issue 13), sliding windows, purged after the longest one."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.abuse import mailbox
from petition.abuse.models import MailboxMail
from petition.db import session_scope, utcnow
from petition.mail.models import OutboxMessage
from petition.moderation import service as moderation
from petition.petitions.models import Petition
from tests.abuse.test_shared_store import Browser, server_env, start_server, stop
from tests.helpers.servers import free_port

KEY = "k" * 40
T0 = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)


def allow(app: Flask, at: dt.datetime, email: str = "victim@example.org") -> bool:
    with app.app_context(), session_scope() as session:
        return mailbox.allow_mail(
            session, canonical_email=email, limits="3/hour;5/day", secret_key=KEY, now=at
        )


def test_windows_slide_and_each_mailbox_counts_alone(app: Flask) -> None:
    minutes = [0, 10, 20]
    assert [allow(app, T0 + dt.timedelta(minutes=m)) for m in minutes] == [True] * 3
    # Full for the hour that the first mail opened, then room for one, as it slides.
    assert not allow(app, T0 + dt.timedelta(minutes=59))
    assert allow(app, T0 + dt.timedelta(minutes=61))
    assert not allow(app, T0 + dt.timedelta(minutes=65))
    assert allow(app, T0 + dt.timedelta(minutes=65), email="someone.else@example.org")
    # The day's window: five mails in 24 hours, however spread.
    assert allow(app, T0 + dt.timedelta(hours=5))
    assert not allow(app, T0 + dt.timedelta(hours=9))
    assert allow(app, T0 + dt.timedelta(hours=24, minutes=1))
    with app.app_context(), session_scope(write=False) as session:
        hashes = set(session.scalars(sa.select(MailboxMail.mailbox_hash)))
    # Only keyed hashes are stored, one per mailbox.
    assert len(hashes) == 2
    assert not any("@" in h for h in hashes)


def test_purge_forgets_mails_older_than_the_longest_window(app: Flask) -> None:
    allow(app, T0)
    allow(app, T0 + dt.timedelta(hours=23))
    with app.app_context(), session_scope() as session:
        result = moderation.purge(
            session,
            ip_hash_retention=dt.timedelta(days=30),
            actor="cli:op",
            now=T0 + dt.timedelta(days=1, minutes=1),
            mail_limits="3/hour;5/day",
        )
        assert result.mailbox_mails_deleted == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(MailboxMail)) == 1


def test_twenty_concurrent_attempts_in_one_process_mail_three_times(app: Flask) -> None:
    barrier = threading.Barrier(20)
    now = utcnow()

    def attempt(_: int) -> bool:
        barrier.wait()
        return allow(app, now)

    with ThreadPoolExecutor(20) as pool:
        assert sorted(pool.map(attempt, range(20))) == [False] * 17 + [True] * 3


@pytest.mark.slow
def test_twenty_simultaneous_signs_through_two_processes_mail_the_mailbox_three_times(
    database_url: str, petition: Petition, app: Flask, tmp_path: Path
) -> None:
    # memory:// (the default): each process has its own limiter counts, so a limit kept
    # there let 6 mails through two workers. The database's count is shared.
    env = server_env(
        database_url,
        tmp_path / "instance",
        ratelimit_sign_per_ip="1000/minute",
        ratelimit_mail_per_email="3/hour;10/day",
    )
    ports = [free_port(), free_port()]
    servers = [start_server(port, env, tmp_path / f"server-{port}.log") for port in ports]
    try:
        browsers = [Browser(ports[n % 2]) for n in range(20)]
        forms = [b.sign_form() for b in browsers]
        barrier = threading.Barrier(20)

        def attempt(n: int) -> int:
            barrier.wait()
            # One mailbox, spelled as people type it (gmail ignores dots and +tags).
            return browsers[n].post_sign(forms[n], f"v.ictim+{n}@gmail.com")

        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(attempt, range(20)))
    finally:
        for server in servers:
            stop(server)
    # Every attempt got the same answer; three mails reached the mailbox.
    assert statuses == [303] * 20
    with app.app_context(), session_scope(write=False) as session:
        mails = session.scalars(sa.select(OutboxMessage.template)).all()
        counted = session.scalar(sa.select(sa.func.count()).select_from(MailboxMail))
    assert sorted(mails) == ["already_signed", "already_signed", "confirm"]
    assert counted == 3
