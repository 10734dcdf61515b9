"""The worker: runs the jobs no request waits for, until stopped, whatever fails.

Two loops, each with its own unit of work and its own backoff:

- **mail** (this thread): :class:`petition.mail.worker.Courier` claims, sends and records
  one message at a time;
- **the database's jobs** (a thread of its own): every ``PETITION_FOLD_INTERVAL_SECONDS``
  the fold brings changed signatures into the counts
  (:func:`petition.signing.counts.fold_counts`), and every second the fan-out of updates
  to signers queues their messages at ``PETITION_UPDATES_PER_SECOND``
  (:func:`petition.updates.fanout.fan_out`) and the mails of delivered batches to the
  signers who asked (:func:`petition.export.notices.queue_delivery_mail`).

The fold has its own thread so that counting never waits on mail: an SMTP server that
hangs holds the mail loop for up to a send timeout per attempt, and the count must still
rise meanwhile. A thread rather than a process: the mail loop spends its time waiting on
sockets (no interpreter lock held), the fold is a few short statements, and one process
to supervise, stop and watch is simpler than two. Neither loop dies of a dependency: the
database going away, the SMTP server refusing, timing out or hanging each log one line
when the outage starts and one when it ends, and the loop backs off (0.5 s doubling to
``MAX_BACKOFF``) until it answers again. Only SIGTERM or SIGINT stop the worker, after the
message in hand. It sits above the domains (the app layer), so mail and signing need not
know each other. ``flask petition worker`` runs it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import signal
import socket
import threading
import time
from types import FrameType

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from petition.config import Settings, current_settings
from petition.db import session_scope, utcnow
from petition.export.notices import queue_delivery_mail
from petition.mail import heartbeat
from petition.mail.senders import ServerUnavailable
from petition.mail.worker import Courier, make_sender
from petition.signing.counts import fold_counts
from petition.updates.fanout import Throttle, fan_out

logger = logging.getLogger(__name__)

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
FOLD_LIMIT = 5000
# After SIGTERM, how long an outcome the database could not take yet is retried.
RECORD_GRACE_SECONDS = 10.0
# How often the worker writes its heartbeat (``petition status`` reads it).
HEARTBEAT_SECONDS = 5.0


@dataclasses.dataclass
class Progress:
    """When each loop last made progress; the database thread writes it as the heartbeat."""

    worker_id: str
    started_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    mail_at: dt.datetime | None = None
    folded_at: dt.datetime | None = None


class Outage:
    """One dependency's state as a loop sees it: one log line when it fails, one when it
    answers again, and the wait before the next try (doubling, capped)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self.delay = FIRST_BACKOFF

    def failed(self, exc: BaseException) -> float:
        """Note a failure; returns how long to wait before trying again."""
        if self.since is None:
            self.since = time.monotonic()
            self.delay = FIRST_BACKOFF
            logger.warning(
                "%s unavailable (%s: %s); retrying with backoff up to %g s",
                self.what,
                type(exc).__name__,
                _first_line(exc),
                MAX_BACKOFF,
            )
        else:
            self.delay = min(self.delay * 2, MAX_BACKOFF)
        return self.delay

    def answered(self) -> None:
        if self.since is not None:
            logger.warning(
                "%s available again after %.1f s", self.what, time.monotonic() - self.since
            )
            self.since = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def run(
    app: Flask, *, once: bool = False, idle_sleep: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Send mail and fold counts until stopped; with ``once``, drain what is due and return.

    ``once`` (tests, cron) runs both in this thread and lets errors through.
    """
    settings = current_settings(app)
    stop = stop or threading.Event()
    sender = make_sender(settings)
    courier = Courier(sender=sender, settings=settings, worker_id=new_worker_id())
    try:
        if once:
            with app.app_context():
                _drain(courier)
            return
        if threading.current_thread() is threading.main_thread():
            _stop_on_signals(stop)
        progress = Progress(courier.worker_id)
        fold = threading.Thread(
            target=_fold_loop, args=(app, settings, stop, progress), name="fold", daemon=True
        )
        fold.start()
        logger.info("worker %s started", courier.worker_id)
        with app.app_context():
            _mail_loop(courier, stop, progress, idle_sleep=idle_sleep)
            _record_before_exit(courier)
        fold.join(timeout=settings.fold_interval_seconds + 30)
        with (
            app.app_context(),
            contextlib.suppress(sa.exc.SQLAlchemyError),
            session_scope() as session,
        ):
            heartbeat.forget(session, worker_id=courier.worker_id)
        logger.info("worker %s stopped", courier.worker_id)
    finally:
        sender.close()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s: stopping after the message in hand", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _drain(courier: Courier) -> None:
    settings = courier.settings
    batch = Throttle(settings.updates_per_second).batch
    while True:
        with session_scope() as session:
            # With ``once`` every update message is queued at once (no throttle).
            queued = fan_out(session, base_url=settings.base_url, limit=batch)
        with session_scope() as session:
            queued += queue_delivery_mail(session, base_url=settings.base_url, limit=batch)
        try:
            sent = courier.deliver_due()
        except ServerUnavailable:
            sent = 0  # released; it waits for the server
        with session_scope() as session:
            folded = fold_counts(session, limit=FOLD_LIMIT)
        if not sent and not folded and not queued:
            return


def _mail_loop(
    courier: Courier, stop: threading.Event, progress: Progress, *, idle_sleep: float
) -> None:
    database = Outage("database (mail)")
    smtp = Outage("SMTP server")
    unexpected = Outage("mail loop")
    while not stop.is_set():
        # A pass may wait on SMTP up to a send timeout; longer means the loop is stuck.
        progress.mail_at = utcnow()
        try:
            sent = courier.deliver_due(stop=stop)
        except ServerUnavailable as exc:
            database.answered()  # the release was recorded
            stop.wait(smtp.failed(exc))
            continue
        except sa.exc.SQLAlchemyError as exc:
            stop.wait(database.failed(exc))
            continue
        except Exception as exc:  # a bug must not stop the mail either; it is logged
            logger.exception("mail loop failed")
            stop.wait(unexpected.failed(exc))
            continue
        database.answered()
        unexpected.answered()
        if sent:
            smtp.answered()
        else:
            stop.wait(idle_sleep)


def _record_before_exit(courier: Courier) -> None:
    """Stopping with an outcome the database has not taken: try it for a little while."""
    deadline = time.monotonic() + RECORD_GRACE_SECONDS
    while courier.unrecorded is not None:
        try:
            courier.record_pending()
        except sa.exc.SQLAlchemyError:
            if time.monotonic() > deadline:
                logger.error(
                    "mail %d: its outcome could not be recorded before stopping; it will be "
                    "sent again, with the same Message-ID, when its lease passes",
                    courier.unrecorded[0].id,
                )
                return
            time.sleep(FIRST_BACKOFF)


FAN_OUT_INTERVAL = 1.0


def _fold_loop(app: Flask, settings: Settings, stop: threading.Event, progress: Progress) -> None:
    """The fold, the fan-out and the heartbeat, in their own thread and app context (own
    session): database work only, so none of them waits on mail."""
    database = Outage("database (fold)")
    throttle = Throttle(settings.updates_per_second)
    next_fold = next_beat = 0.0
    with app.app_context():
        while not stop.is_set():
            try:
                if time.monotonic() >= next_beat:
                    with session_scope() as session:
                        heartbeat.beat(
                            session,
                            worker_id=progress.worker_id,
                            started_at=progress.started_at,
                            mail_at=progress.mail_at,
                            folded_at=progress.folded_at,
                        )
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                with session_scope() as session:
                    # Updates enter the outbox at PETITION_UPDATES_PER_SECOND.
                    throttle.spent(
                        fan_out(session, base_url=settings.base_url, limit=throttle.allowance())
                    )
                with session_scope() as session:
                    # Delivery mails share the same rate: both are bulk mail to many.
                    throttle.spent(
                        queue_delivery_mail(
                            session, base_url=settings.base_url, limit=throttle.allowance()
                        )
                    )
                folded = 0
                if time.monotonic() >= next_fold:
                    with session_scope() as session:
                        folded = fold_counts(session, limit=FOLD_LIMIT)
                    progress.folded_at = utcnow()
                    # A full fold means more are waiting: fold again at once.
                    if folded < FOLD_LIMIT:
                        next_fold = time.monotonic() + settings.fold_interval_seconds
            except Exception as exc:  # the database, or a bug: logged, retried
                if not isinstance(exc, sa.exc.SQLAlchemyError):
                    logger.exception("fold failed")
                stop.wait(database.failed(exc))
                continue
            database.answered()
            wake = min(next_fold, next_beat) - time.monotonic()
            stop.wait(min(FAN_OUT_INTERVAL, max(0.0, wake)))


def new_worker_id() -> str:
    """Who holds a claimed message (``outbox_messages.claimed_by``): host, process, and a
    random part, as a process id is reused after a restart."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, fold the counts, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Send queued mail (with retries) and fold verified signatures into counts."""
    if not logging.getLogger().handlers:
        # A supervisor (systemd's journal, a container's log) keeps what goes to stderr;
        # without a handler only warnings would show, and without their time.
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    run(current_app._get_current_object(), once=once)  # type: ignore[attr-defined]


COMMANDS: tuple[click.Command, ...] = (worker_command,)
