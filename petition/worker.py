"""The worker: runs the jobs no request waits for, until stopped.

Each pass sends the mail that is due (:func:`petition.mail.worker.deliver_due`) and,
every ``PETITION_FOLD_INTERVAL_SECONDS``, folds changed signatures into the counts
(:func:`petition.signing.counts.fold_counts`), each in a unit of work of its own.
It sits above the domains (the app layer), so mail and signing need not know each
other. ``flask petition worker`` runs it.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from petition.config import current_settings
from petition.db import session_scope
from petition.mail.worker import deliver_due, make_sender
from petition.signing.counts import fold_counts
from petition.updates.fanout import Throttle, fan_out

logger = logging.getLogger(__name__)


def run(
    app: Flask, *, once: bool = False, idle_sleep: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Send mail and fold counts until stopped; with ``once``, drain what is due and return."""
    settings = current_settings(app)
    stop = stop or threading.Event()
    if not once and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sender = make_sender(settings)
    worker_id = new_worker_id()
    # Updates to signers enter the outbox at PETITION_UPDATES_PER_SECOND (all at once
    # with ``once``, which drains everything).
    throttle = Throttle(settings.updates_per_second)
    last_fold = 0.0
    try:
        with app.app_context():
            while not stop.is_set():
                sent = deliver_due(sender=sender, settings=settings, worker_id=worker_id, stop=stop)
                with session_scope() as session:
                    queued = fan_out(
                        session,
                        base_url=settings.base_url,
                        limit=throttle.batch if once else throttle.allowance(),
                    )
                throttle.spent(queued)
                folded = 0
                if once or time.monotonic() - last_fold >= settings.fold_interval_seconds:
                    with session_scope() as session:
                        folded = fold_counts(session)
                    last_fold = time.monotonic()
                if once and not sent and not folded and not queued:
                    return
                if not sent and not folded and not queued:
                    stop.wait(idle_sleep)
    except KeyboardInterrupt:
        logger.info("worker stopped")
    finally:
        sender.close()


def new_worker_id() -> str:
    """Who holds a claimed message (``outbox_messages.claimed_by``): host, process, and a
    random part, as a process id is reused after a restart."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, fold the counts, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Send queued mail (with retries) and fold verified signatures into counts."""
    run(current_app._get_current_object(), once=once)  # type: ignore[attr-defined]


COMMANDS: tuple[click.Command, ...] = (worker_command,)
