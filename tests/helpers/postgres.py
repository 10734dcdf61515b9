"""A PostgreSQL cluster of the test's own, to stop, crash and start again.

The machine's own server is shared and must never be disturbed, so fault tests run
``initdb`` into a temporary folder (as the ``postgres`` user when the tests run as
root, which PostgreSQL refuses to be), serve it on a free port and stop it by the
postmaster's PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from tests.helpers.servers import free_port


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        done = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(done.stdout.strip())
        if (path / "initdb").exists():
            return path
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


BINDIR = _bindir()


class OwnPostgres:
    """One cluster: ``start()``, ``stop(signal.SIGINT)`` (a fast shutdown, as a restart
    does) or ``stop(signal.SIGQUIT)`` (an immediate one: no checkpoint, recovery at the
    next start, as after a crash), and databases made from a migrated template."""

    def __init__(self) -> None:
        assert BINDIR is not None
        self.folder = Path(tempfile.mkdtemp(prefix="petition-own-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(BINDIR / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_postgres else list(args)

    def _run(self, *args: str) -> None:
        subprocess.run(self._command(*args), check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            self._command(
                str(BINDIR / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.folder}",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=50",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(psycopg.OperationalError),
                psycopg.connect(self.url(), connect_timeout=1),
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError((self.folder / "server.log").read_text()[-2000:])
            time.sleep(0.1)

    def postmaster_pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int(pidfile.read_text().splitlines()[0])
        return None

    def stop(self, how: signal.Signals = signal.SIGINT) -> None:
        """Stop the postmaster by its PID and wait until it is gone."""
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, how)
        if self.process is not None:
            self.process.wait(30)
            self.process = None
        # An immediate shutdown leaves the pid file; the next start checks it is stale.

    def new_database(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop(signal.SIGQUIT)
        shutil.rmtree(self.folder, ignore_errors=True)
