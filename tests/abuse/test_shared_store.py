"""Real server processes: limits shared through Redis, and the start-up warning.

Two gunicorn servers on different ports share the machine's Redis (a database
number of its own and a key prefix unique to the run): a client that spreads its
attempts over both still meets the limit.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import redis

from petition.abuse import traps
from petition.config import DEV_SECRET, PROJECT_ROOT
from petition.db import utcnow
from petition.petitions.models import Petition
from tests.abuse.conftest import REDIS_TEST_URL
from tests.helpers.forms import csrf_from
from tests.helpers.servers import free_port

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SLUG = "defend-the-people-of-daraa"

pytestmark = pytest.mark.slow


def start_server(
    port: int, env: dict[str, str], log: Path, workers: int = 1
) -> subprocess.Popen[bytes]:
    command = [GUNICORN, "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)
    # Waited on, so a generous deadline costs nothing: under load a new gunicorn took
    # more than 10 s to import the app and answer its first page.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=15):
                return process
        except urllib.error.HTTPError:
            return process  # it answers
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.terminate()
    process.wait(timeout=10)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=35)  # gunicorn gives its workers 30 s (graceful_timeout)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """A person's browser on one server: keeps its cookies, does not follow redirects."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def status(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def sign(self, email: str) -> int:
        return self.post_sign(self.sign_form(), email)

    def sign_form(self) -> dict[str, str]:
        """The sign form as the petition page gives it to this browser."""
        _, page = self.status(f"/p/{SLUG}")
        return {
            "csrf_token": csrf_from(page),
            "shown": traps.form_shown_token(DEV_SECRET, at=utcnow().replace(year=2025)),
            "name": "Layla Haddad",
            "country": "SY",
        }

    def post_sign(self, form: dict[str, str], email: str) -> int:
        status, _ = self.status(f"/p/{SLUG}/sign", {**form, "email": email})
        return status


def server_env(database_url: str, instance: Path, **settings: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PETITION_DATABASE_URL": database_url,
        "PETITION_INSTANCE_PATH": str(instance),
        "PETITION_BASE_URL": "http://127.0.0.1",
    }
    env.update({f"PETITION_{key.upper()}": value for key, value in settings.items()})
    return env


def test_two_servers_sharing_redis_reach_one_limit(
    database_url: str, petition: Petition, redis_prefix: str, tmp_path: Path
) -> None:
    env = server_env(
        database_url,
        tmp_path / "instance",
        ratelimit_storage_uri=REDIS_TEST_URL,
        ratelimit_key_prefix=redis_prefix,
        ratelimit_sign_per_ip="4/minute",
    )
    ports = [free_port(), free_port()]
    first = start_server(ports[0], env, tmp_path / "first.log")
    second = start_server(ports[1], env, tmp_path / "second.log")
    try:
        browsers = [Browser(port) for port in ports]
        statuses = [browsers[n % 2].sign(f"p{n}@example.org") for n in range(4)]
        assert statuses == [303, 303, 303, 303]
        # The fifth attempt is refused by either server: they count together.
        assert browsers[0].sign("p4@example.org") == 429
        assert browsers[1].sign("p5@example.org") == 429
    finally:
        stop(first)
        stop(second)
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_TEST_URL).keys(f"{redis_prefix}*")]
    assert any("sign-ip" in key for key in keys)
    # The limiter's store holds no email address, only keyed hashes.
    assert not any("@" in key for key in keys)


def test_production_with_two_workers_on_memory_warns_at_start(tmp_path: Path) -> None:
    env = server_env(
        f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        tmp_path / "instance",
        env="production",
        secret_key="s" * 40,
        mail_url="smtp://127.0.0.1:1",
    )
    log = tmp_path / "server.log"
    server = start_server(free_port(), env, log, workers=2)
    stop(server)
    text = log.read_text()
    assert re.search(r"RATE LIMITS ARE NOT SHARED: 2 workers", text), text


def _remote_ports(pid: int) -> list[int]:
    """The remote TCP ports of the sockets process ``pid`` holds open (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[3] == "01":  # ESTABLISHED
                ports.append(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def test_workers_are_forked_from_a_loaded_app_that_holds_no_connection(
    database_url: str, petition: Petition, redis_prefix: str, tmp_path: Path
) -> None:
    # gunicorn.conf.py preloads the app (about 3 MB less per worker): the master loads
    # it, with its database driver, and must hold no database or Redis connection that
    # the forked workers would share; each worker opens its own.
    env = server_env(
        database_url,
        tmp_path / "instance",
        ratelimit_storage_uri=REDIS_TEST_URL,
        ratelimit_key_prefix=redis_prefix,
    )
    port = free_port()
    server = start_server(port, env, tmp_path / "server.log", workers=2)
    try:
        for n in range(3):
            assert Browser(port).sign(f"fork{n}@example.org") == 303
        driver = "_sqlite3" if database_url.startswith("sqlite") else "psycopg_binary"
        assert driver in Path(f"/proc/{server.pid}/maps").read_text()
        database_port = urllib.parse.urlsplit(database_url).port or 5432
        assert not {database_port, 6379} & set(_remote_ports(server.pid))
        workers = [
            int(pid)
            for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        ]
        assert len(workers) == 2
        if not database_url.startswith("sqlite"):
            held = [_remote_ports(pid).count(database_port) for pid in workers]
            assert sum(held) >= 1, held
    finally:
        stop(server)
