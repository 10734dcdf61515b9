"""``petition status``: is anything stuck? For a person, cron or a monitor.

Prints the outbox (queued, due, failed, outcome unknown, the age of the oldest due
message), the fold
(when it last ran, how many changes wait and how old the oldest is) and each worker's
last heartbeat, then exits 1 when something is stuck: mail due for longer than
``--max-due-age``, changes waiting for the fold longer than ``--max-fold-lag``, no worker
beating within ``--max-beat-age``, or a worker whose mail loop made no progress within
a send timeout and a margin; and it exits 1 while a message whose outcome is unknown
(handed to SMTP by a worker that died before the answer) is younger than
``--max-unknown-age``, so that a person hears of it. Exit 0 otherwise. It sits in the app layer beside the
worker it watches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from petition.config import Settings, current_settings
from petition.db import session_scope, utcnow
from petition.mail.heartbeat import heartbeats
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.signing.models import NEEDS_FOLD, Signature


@dataclasses.dataclass(frozen=True)
class WorkerSeen:
    worker_id: str
    beat_age: float
    mail_age: float | None
    fold_age: float | None
    # Since the worker started: a mail loop that has not begun its first pass yet.
    started_age: float = 0.0


@dataclasses.dataclass(frozen=True)
class Status:
    queued: int
    due: int
    failed: int
    unknown: int
    last_unknown_age: float | None
    oldest_due_age: float | None
    fold_waiting: int
    fold_lag: float | None
    last_fold_age: float | None
    workers: list[WorkerSeen]


def _age(now: dt.datetime, then: dt.datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def read_status() -> Status:
    """The figures, read in one short transaction (needs an app context)."""
    now = utcnow()
    with session_scope(write=False) as session:
        by_status = dict(
            session.execute(
                sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        due_filter = (
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.next_attempt_at <= now,
        )
        due, oldest_due = session.execute(
            sa.select(sa.func.count(), sa.func.min(OutboxMessage.next_attempt_at)).where(
                *due_filter
            )
        ).one()
        last_unknown = session.execute(
            sa.select(sa.func.max(OutboxMessage.handed_over_at)).where(
                OutboxMessage.status == OutboxStatus.UNKNOWN
            )
        ).scalar()
        waiting, oldest_waiting = session.execute(
            sa.select(sa.func.count(), sa.func.min(Signature.verified_at)).where(
                sa.text(NEEDS_FOLD)
            )
        ).one()
        seen = heartbeats(session)
    workers = [
        WorkerSeen(
            worker_id=beat.worker_id,
            beat_age=_age(now, beat.beat_at) or 0.0,
            mail_age=_age(now, beat.mail_at),
            fold_age=_age(now, beat.folded_at),
            started_age=_age(now, beat.started_at) or 0.0,
        )
        for beat in seen
    ]
    folds = [w.fold_age for w in workers if w.fold_age is not None]
    return Status(
        queued=int(by_status.get(OutboxStatus.QUEUED, 0)),
        due=int(due),
        failed=int(by_status.get(OutboxStatus.FAILED, 0)),
        unknown=int(by_status.get(OutboxStatus.UNKNOWN, 0)),
        last_unknown_age=_age(now, last_unknown),
        oldest_due_age=_age(now, oldest_due),
        fold_waiting=int(waiting),
        fold_lag=_age(now, oldest_waiting),
        last_fold_age=min(folds) if folds else None,
        workers=workers,
    )


def stuck_reasons(
    status: Status,
    settings: Settings,
    *,
    max_due_age: float,
    max_fold_lag: float,
    max_beat_age: float,
) -> list[str]:
    reasons = []
    if status.oldest_due_age is not None and status.oldest_due_age > max_due_age:
        reasons.append(f"mail has been due for {status.oldest_due_age:.0f} s")
    if status.fold_lag is not None and status.fold_lag > max_fold_lag:
        reasons.append(f"confirmations have waited {status.fold_lag:.0f} s for the fold")
    alive = [w for w in status.workers if w.beat_age <= max_beat_age]
    if not alive:
        reasons.append(f"no worker has beaten within {max_beat_age:.0f} s")
    # A pass of the mail loop waits on SMTP for at most a send timeout.
    mail_bound = settings.mail_send_timeout_seconds * 2 + 60
    for worker in alive:
        # The first heartbeat may come before the mail loop's first pass: a worker that
        # has just started is not stuck, one whose loop never began within the bound is.
        since = worker.mail_age if worker.mail_age is not None else worker.started_age
        if since > mail_bound:
            reasons.append(f"the mail loop of worker {worker.worker_id} makes no progress")
    return reasons


def alerts(status: Status, *, max_unknown_age: float) -> list[str]:
    """What is not stuck but needs a person: mail that may or may not have gone out."""
    age = status.last_unknown_age
    if age is None or age > max_unknown_age:
        return []
    return [
        f"{status.unknown} mail(s) with outcome unknown (handed to SMTP, no answer "
        f"recorded), the last {age:.0f} s ago; not sent again"
    ]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


@click.command("status")
@click.option("--max-due-age", default=600.0, show_default=True, help="Seconds mail may be due.")
@click.option(
    "--max-fold-lag",
    default=None,
    type=float,
    help="Seconds a confirmation may wait for the fold [default: 10 fold intervals, 60 s at least].",
)
@click.option(
    "--max-beat-age", default=60.0, show_default=True, help="Seconds since a worker's heartbeat."
)
@click.option(
    "--max-unknown-age",
    default=86400.0,
    show_default=True,
    help="Seconds an outcome-unknown mail keeps the exit status 1.",
)
@with_appcontext
def status_command(
    max_due_age: float, max_fold_lag: float | None, max_beat_age: float, max_unknown_age: float
) -> None:
    """Outbox, fold and workers at a glance; exits 1 when something is stuck."""
    settings = current_settings()
    status = read_status()
    if max_fold_lag is None:
        max_fold_lag = max(60.0, 10.0 * settings.fold_interval_seconds)
    click.echo(
        f"outbox: {status.queued} queued, {status.due} due, {status.failed} failed, "
        f"{status.unknown} unknown; "
        f"oldest due {_seconds(status.oldest_due_age)}"
    )
    click.echo(
        f"fold: last {_seconds(status.last_fold_age)} ago; {status.fold_waiting} changes "
        f"waiting, oldest {_seconds(status.fold_lag)}"
    )
    if not status.workers:
        click.echo("workers: none")
    for worker in status.workers:
        click.echo(
            f"worker {worker.worker_id}: heartbeat {_seconds(worker.beat_age)} ago, mail loop "
            f"{_seconds(worker.mail_age)} ago, fold {_seconds(worker.fold_age)} ago"
        )
    reasons = stuck_reasons(
        status,
        settings,
        max_due_age=max_due_age,
        max_fold_lag=max_fold_lag,
        max_beat_age=max_beat_age,
    )
    for reason in reasons:
        click.echo(f"STUCK: {reason}", err=True)
    warnings = alerts(status, max_unknown_age=max_unknown_age)
    for warning in warnings:
        click.echo(f"ALERT: {warning}", err=True)
    if reasons or warnings:
        raise SystemExit(1)
    click.echo("ok")


COMMANDS: tuple[click.Command, ...] = (status_command,)
