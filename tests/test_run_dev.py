"""`make run` (scripts/run-dev) keeps the worker running: one that exits is started again."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT
from tests.helpers.servers import free_port
from tests.test_worker import wait_for

pytestmark = pytest.mark.faults


def descendants(root: int) -> dict[int, str]:
    """Every process below ``root``: pid → command line."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found[pid] = commands.get(pid, "")
            todo.append(pid)
    return found


def workers(root: int) -> list[int]:
    return [pid for pid, cmd in descendants(root).items() if "petition worker" in cmd]


def test_run_dev_starts_a_worker_again_after_it_is_killed(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "petition.sqlite3"
    shutil.copy(sqlite_template, database)
    port = free_port()
    env = {
        **os.environ,
        "PETITION_DATABASE_URL": f"sqlite:///{database}",
        "PETITION_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORT": str(port),
    }
    log = tmp_path / "run-dev.log"
    with log.open("wb") as output:
        script = subprocess.Popen(
            [str(PROJECT_ROOT / "scripts" / "run-dev")],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            [first] = wait_for(lambda: workers(script.pid), 20, "the first worker")

            def healthy() -> bool:
                url = f"http://127.0.0.1:{port}/healthz"
                with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
                    return True
                return False

            wait_for(healthy, 30, "the development server")
            os.kill(first, signal.SIGKILL)
            [second] = wait_for(
                lambda: [p for p in workers(script.pid) if p != first], 20, "a new worker"
            )
            assert second != first
            os.killpg(script.pid, signal.SIGTERM)
            script.wait(20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(script.pid, signal.SIGKILL)
    # 137: killed by signal 9, as the shell reports it.
    assert "the worker exited with status 137; starting it again" in log.read_text()
    # Stopping stops everything, the worker started again included.
    wait_for(lambda: not Path(f"/proc/{second}").exists(), 10, "the second worker gone")
