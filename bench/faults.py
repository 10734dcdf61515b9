"""A signing surge with one fault at a time, and what was lost, doubled or answered 500.

    .venv/bin/python -m bench.faults                      # every fault, 8 s each
    .venv/bin/python -m bench.faults --faults pg-restart,worker-kill --outage 5

Two app instances (gunicorn) and two workers (``petition worker``) share a PostgreSQL
cluster and a Redis of this run's own (never the machine's), and mail goes to an
aiosmtpd in this process that counts every message by recipient. A thread per app
instance signs at ``--rate`` per second in all (new addresses); another confirms pending
signatures every second, as people do (a direct UPDATE: the confirm page is not what is
under test). Faults, in turn, while signing goes on: smtp-down, smtp-hang, worker-kill
(SIGKILL; started again, as systemd's Restart=always would), pg-restart (fast shutdown),
pg-crash (immediate shutdown), redis-down, app-kill (SIGKILL of one instance; started
again). At the end: signatures answered as taken but not stored (lost), mails received
more than once or not at all, answers 500, the count against the confirmed signatures,
and whether both workers still run with no restart but the one worker-kill asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email import message_from_bytes, policy
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from bench.run import (
    ROOT,
    SLUG,
    VENV_BIN,
    engine,
    flask,
    form_extras,
    free_port,
    gunicorn_command,
    wait_for,
)
from tests.helpers.postgres import OwnPostgres

FAULTS = (
    "smtp-down",
    "smtp-hang",
    "worker-kill",
    "pg-restart",
    "pg-crash",
    "redis-down",
    "app-kill",
)


class CountingSMTP:
    """Counts received messages by recipient; can refuse (stopped) or hang at MAIL."""

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.hanging = threading.Event()

    async def handle_MAIL(  # noqa: N802
        self, server: object, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        while self.hanging.is_set():
            await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received[str(message["To"])] += 1
        return "250 Message accepted for delivery"


class Process:
    """A child process this run started and may kill and start again."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(100)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


class Signer(threading.Thread):
    """Signs at ``rate`` per second through one app instance; records every answer."""

    def __init__(self, port: int, rate: float, tag: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.rate, self.tag, self.stop = port, rate, tag, stop
        self.answers: collections.Counter[str] = collections.Counter()
        self.taken: list[str] = []
        self.opener: urllib.request.OpenerDirector | None = None
        self.form = ""

    def session(self) -> None:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        html = opener.open(f"http://127.0.0.1:{self.port}/p/{SLUG}", timeout=10).read().decode()
        token = html.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        self.opener, self.form = opener, f"csrf_token={token}{form_extras(html)}"

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                if self.opener is None:
                    self.session()
                email = f"{self.tag}-{n}@example.org"
                body = (
                    self.form
                    + "&"
                    + urllib.parse.urlencode(
                        {"name": "Surge Signer", "email": email, "country": "SY"}
                    )
                )
                assert self.opener is not None
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}/p/{SLUG}/sign", data=body.encode()
                )
                request.add_header("X-Forwarded-For", f"2001:db8::{n:x}:{self.port:x}")
                with self.opener.open(request, timeout=15) as response:
                    status = response.status
                    if response.url.endswith("/signed"):
                        self.taken.append(email)
                self.answers[str(status)] += 1
                n += 1
            except urllib.error.HTTPError as exc:
                self.answers[str(exc.code)] += 1
                n += 1
            except (OSError, IndexError, AssertionError) as exc:
                # The instance is down (killed) or its page was an error: no answer.
                self.answers[f"no answer ({type(exc).__name__})"] += 1
                self.opener = None
                self.stop.wait(0.5)
            self.stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--rate", type=float, default=15.0, help="signatures per second")
    parser.add_argument("--outage", type=float, default=8.0, help="seconds each fault lasts")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds between faults")
    args = parser.parse_args()
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    assert set(faults) <= set(FAULTS), faults
    folder = Path(tempfile.mkdtemp(prefix="petition-faults-"))
    pg = OwnPostgres()
    apps: list[Process] = []
    workers: list[Process] = []
    stop = threading.Event()
    try:
        pg.start()
        run_scenario(pg, folder, faults, args, apps, workers, stop)
    finally:
        stop.set()
        for process in (*workers, *apps):
            process.stop()
        pg.remove()
        print(f"logs in {folder}")


def run_scenario(
    pg: OwnPostgres,
    folder: Path,
    faults: list[str],
    args: argparse.Namespace,
    apps: list[Process],
    workers: list[Process],
    stop: threading.Event,
) -> None:
    url = pg.new_database()
    redis_port = free_port()
    redis_args = ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"]
    redis = [subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)]
    mailbox = CountingSMTP()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    # Whatever fails from here on, the finally below stops Redis and the SMTP server.
    try:
        _surge(pg, folder, faults, args, apps, workers, stop, url, redis, redis_args, mailbox, smtp)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            smtp.stop()
        for process in redis:
            process.kill()
            process.wait(10)


def _surge(
    pg: OwnPostgres,
    folder: Path,
    faults: list[str],
    args: argparse.Namespace,
    apps: list[Process],
    workers: list[Process],
    stop: threading.Event,
    url: str,
    redis: list[subprocess.Popen[bytes]],
    redis_args: list[str],
    mailbox: CountingSMTP,
    smtp: Controller,
) -> None:
    redis_port = int(redis_args[2])
    smtp_port = smtp.port
    env = {
        **os.environ,
        "PETITION_ENV": "production",
        "PETITION_SECRET_KEY": "faults-" + "k" * 40,
        "PETITION_DATABASE_URL": url,
        "PETITION_MAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PETITION_BASE_URL": "http://127.0.0.1",
        "PETITION_INSTANCE_PATH": str(folder / "instance"),
        "PETITION_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
        "PETITION_PROXY_HOPS": "1",
        "PETITION_RATELIMIT_SIGN_PER_PETITION": "100000000/minute",
        "PETITION_FLAG_MIN_FILL_SECONDS": "0",
        "PETITION_FLAG_BURST_PER_IP": "100000/minute",
        "PETITION_FOLD_INTERVAL_SECONDS": "2",
        "PETITION_MAIL_SEND_TIMEOUT_SECONDS": "5",
        "PETITION_MAIL_COMMAND_TIMEOUT_SECONDS": "3",
        # A short lease so that the killed worker's message is settled within the run
        # (sent, or marked "unknown" if the kill came after its hand-over).
        "PETITION_MAIL_LEASE_SECONDS": "15",
        "PETITION_PAGE_CACHE_SECONDS": "2",
    }
    flask(env, "db", "upgrade")
    flask(env, "petition", "import", str(ROOT / "content" / f"{SLUG}.md"))
    log = folder / "processes.log"
    ports = [free_port(), free_port()]
    gunicorn = [*gunicorn_command(), "--workers", "2", "--log-level", "warning"]
    apps.extend(
        Process(f"app{i}", [*gunicorn, "--bind", f"127.0.0.1:{p}", "wsgi:app"], env, log)
        for i, p in enumerate(ports)
    )
    workers.extend(
        Process(f"worker{i}", [str(VENV_BIN / "petition"), "worker"], env, log) for i in range(2)
    )
    for port in ports:
        wait_for(port, f"/p/{SLUG}", timeout=180)  # a loaded machine starts slowly
    signers = [Signer(p, args.rate / 2, f"s{i}", stop) for i, p in enumerate(ports)]
    db = engine(url)

    def confirm() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(sa.exc.SQLAlchemyError), db.begin() as conn:
                conn.execute(
                    sa.text(
                        "UPDATE signatures SET status = 'verified', verified_at = now() "
                        "WHERE status = 'pending'"
                    )
                )

    confirmer = threading.Thread(target=confirm, daemon=True)
    for thread in (*signers, confirmer):
        thread.start()
    timeline: list[str] = []
    started = time.monotonic()

    def note(text: str) -> None:
        timeline.append(f"{time.monotonic() - started:6.1f} s  {text}")
        print(timeline[-1], flush=True)

    try:
        time.sleep(args.settle)
        for fault in faults:
            # The restarted app instance must be up again before the next fault.
            for port in ports:
                wait_for(port, f"/p/{SLUG}", timeout=180)
            note(f"{fault}: begins")
            if fault == "smtp-down":
                smtp.stop()
                time.sleep(args.outage)
                smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
                smtp.start()
            elif fault == "smtp-hang":
                mailbox.hanging.set()
                time.sleep(args.outage)
                mailbox.hanging.clear()
            elif fault == "worker-kill":
                workers[0].kill()
                time.sleep(2)
                workers[0].start()  # as Restart=always does
            elif fault in ("pg-restart", "pg-crash"):
                pg.stop(signal.SIGINT if fault == "pg-restart" else signal.SIGQUIT)
                time.sleep(args.outage)
                pg.start()
            elif fault == "redis-down":
                # Stopped by its PID; a new one on the same port when the outage ends.
                redis[-1].send_signal(signal.SIGTERM)
                redis[-1].wait(10)
                time.sleep(args.outage)
                redis.append(subprocess.Popen(redis_args, stdout=subprocess.DEVNULL))
            elif fault == "app-kill":
                apps[0].kill()
                time.sleep(2)
                apps[0].start()
            note(f"{fault}: over")
            time.sleep(args.settle)
        stop.set()
        for thread in signers:
            thread.join(20)
        note("signing stopped; waiting for the outbox and the fold to drain")
        taken = {email for s in signers for email in s.taken}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.connect() as conn:
                queued = conn.scalar(
                    sa.text("SELECT count(*) FROM outbox_messages WHERE status = 'queued'")
                )
            if not queued:
                break
            time.sleep(1)
        with db.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE signatures SET status = 'verified', verified_at = now() "
                    "WHERE status = 'pending'"
                )
            )
        time.sleep(6)  # three fold intervals
        with db.connect() as conn:
            stored = set(conn.scalars(sa.text("SELECT email FROM signatures")))
            verified = conn.scalar(
                sa.text("SELECT count(*) FROM signatures WHERE status = 'verified'")
            )
            shown = conn.scalar(sa.text("SELECT signature_count FROM petitions"))
            failed = conn.scalar(
                sa.text("SELECT count(*) FROM outbox_messages WHERE status <> 'sent'")
            )
            unknown = conn.scalar(
                sa.text("SELECT count(*) FROM outbox_messages WHERE status = 'unknown'")
            )
        answers: collections.Counter[str] = collections.Counter()
        for s in signers:
            answers.update(s.answers)
        with mailbox.lock:
            received = dict(mailbox.received)
        workers_alive = [w.alive() for w in workers]
        print()
        print(f"faults: {', '.join(faults)} ({args.outage:g} s each, {args.rate:g} signatures/s)")
        print(f"answers: {dict(sorted(answers.items()))}")
        print(f"taken (answered 'check your mailbox'): {len(taken)}; stored: {len(stored)}")
        print(f"lost (taken, not stored): {len(taken - stored)}")
        print(
            f"mails: {sum(received.values())} received for {len(received)} addresses; "
            f"sent twice: {sum(1 for n in received.values() if n > 1)}; "
            f"never received: {len(stored - set(received))}; outbox not sent: {failed} "
            f"(outcome unknown: {unknown})"
        )
        print(
            f"count shown {shown}, verified {verified}: {'equal' if shown == verified else 'DIFFERENT'}"
        )
        print(f"answers 500: {answers.get('500', 0)}")
        print(
            f"workers alive at the end: {workers_alive}; starts {[w.starts for w in workers]} "
            "(worker-kill restarts worker0 once)"
        )
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            smtp.stop()
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())
