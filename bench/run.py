"""Side-by-side load benchmarks: the service's endpoints against reference endpoints.

For each database it starts gunicorn (same worker settings) for ``bench/reference.py``
and for the service, drives each endpoint with wrk, and prints a table with req/s,
p50/p99 latency, errors, 429s, rows landed against 2xx/3xx answers, worker memory, and
each endpoint's ratio to its reference measured in the same run (medians of
several runs). Then the mail worker, the count fold, and the read endpoints again
with 1,000,000 verified signatures stored; last, one table of both databases.

Production-like by default: limits in Redis (``BENCH_REDIS_URL``) when it answers, in
each process's memory otherwise (and the table says so); the per-petition ceiling
raised as an operator of a big petition would; SQLite, and PostgreSQL
(``BENCH_POSTGRES_URL``) when it answers. 485 s at load 7 to 15, 174 s of it wrk runs
of fixed length: about 4 to 5 minutes on a quiet 2-core machine.

    .venv/bin/python -m bench.run                     # make bench: 5 paired runs of 1 s
    .venv/bin/python -m bench.run --quick             # a one-second smoke run
    .venv/bin/python -m bench.run --databases sqlite --runs 5 --duration 10
    .venv/bin/python -m bench.run --reads             # hello-world and the reads only

Only 127.0.0.1 is targeted; every load is bounded in time and stops by itself. An
error (an answer other than 2xx/3xx/429, or a socket error) makes the exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WRK_DIR = ROOT / "bench" / "wrk"
SLUG = "defend-the-people-of-daraa"
# The reads a spreading petition serves, each measured against hello-world.
READS = {
    "page": f"/p/{SLUG}",
    "count": f"/p/{SLUG}/count",
    "api": f"/api/v1/petitions/{SLUG}",
    "countries": f"/api/v1/petitions/{SLUG}/countries",
    "widget": f"/embed/{SLUG}",
    "widget count": f"/embed/{SLUG}?mode=count",
    "embed.js": "/embed.js",
}
# Issue 19's reads, each measured beside a hello-world run of its own at every round.
PAIRED_READS = ("page", "count", "api", "widget", "widget count", "embed.js")
# With the petition's million signatures, the reads that could grow with it: the page's
# newest public signers and the countries (the count API reads only the petition row).
SCALE_READS = ("page", "countries")
SCALE_RUNS = 3
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


# What issue 19 asks of each read, as a share of the hello-world run just before it.
TARGETS = {
    "page": 0.60,
    "count": 0.70,
    "api": 0.70,
    "widget": 0.70,
    "widget count": 0.70,
    "embed.js": 0.70,
}


@dataclasses.dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    ok: int
    requests: int
    limited: int = 0
    landed: int | None = None


def redis_answers(url: str) -> bool:
    """Whether Redis at ``url`` answers a PING within a second."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def postgres_answers(url: str) -> bool:
    """Whether PostgreSQL at ``url`` takes a connection within 3 seconds."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def limits_storage(url: str) -> tuple[str, str]:
    """The limiter's storage for the service, and a line saying which it is."""
    if redis_answers(url):
        return url, f"rate limits in Redis ({url}), as in production"
    return "memory://", (
        f"rate limits in each process's memory: Redis at {url} did not answer "
        "(not production-like; set BENCH_REDIS_URL)"
    )


def databases_to_run(wanted: str, postgres_url: str) -> tuple[list[str], list[str]]:
    """The databases to measure and notes on any left out: "auto" is SQLite, and
    PostgreSQL when it answers; a database named explicitly is always run."""
    if wanted != "auto":
        return [kind.strip() for kind in wanted.split(",") if kind.strip()], []
    if postgres_answers(postgres_url):
        return ["sqlite", "postgresql"], []
    return ["sqlite"], [f"PostgreSQL at {postgres_url} did not answer: SQLite only"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, path: str = "/", timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer {path}")


DEPLOYED = "gunicorn under python -OO, from bytecode compiled at that level, as deployed"


@functools.cache
def gunicorn_command() -> tuple[str, ...]:
    """gunicorn as the deployment starts it: ``python -OO -m gunicorn`` (no docstrings,
    about 6 MB less per worker), from bytecode compiled at that level for the virtualenv
    and the checkout, as the deployment's ``compileall`` makes it (README, "Deployment");
    without it every start would compile from source and the worker would be bigger.
    Quick once compiled (a third of a second here)."""
    folders = [sysconfig.get_paths()["purelib"], *(str(ROOT / p) for p in ("petition", "bench"))]
    subprocess.run(
        [sys.executable, "-OO", "-m", "compileall", "-q", *folders, str(ROOT / "wsgi.py")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return (sys.executable, "-OO", "-m", "gunicorn")


@contextlib.contextmanager
def gunicorn(
    app: str, env: dict[str, str], *, workers: int, probe: str
) -> Iterator[tuple[int, int]]:
    """Run gunicorn with sync workers; yields (port, master pid). Its log goes to a file
    (a pipe nobody reads would fill and stall it), shown if gunicorn stopped early."""
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [
                *gunicorn_command(),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--backlog",
                "2048",
                app,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for(port, probe)
            yield port, proc.pid
        finally:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read()[-3000:]
                print(f"gunicorn {app} stopped early ({proc.returncode}):\n{tail}", file=sys.stderr)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def worker_rss_mb(master: int) -> list[float]:
    """Resident memory of each gunicorn worker (children of the master)."""
    out = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(master)], capture_output=True, text=True, check=False
    )
    return sorted(int(line) / 1024 for line in out.stdout.split() if line.strip())


def wrk(
    port: int, script: str, *args: str, duration: float, connections: int, threads: int = 2
) -> Result:
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / script),
        f"http://127.0.0.1:{port}{args[0] if script == 'get.lua' else ''}",
    ]
    if script != "get.lua":
        cmd += ["--", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    out = done.stdout
    line = next(part for part in out.splitlines() if part.startswith("{"))
    data = json.loads(line)
    return Result(
        rps=data["rps"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        # wrk's status errors are every answer >= 400; a 429 is counted on its own.
        errors=data["socket_errors"] + data["http_errors"] - data["limited"],
        ok=data["ok"],
        requests=data["requests"],
        limited=data["limited"],
    )


def median_result(results: list[Result]) -> Result:
    landed = [r.landed for r in results if r.landed is not None]
    return Result(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        ok=sum(r.ok for r in results),
        requests=sum(r.requests for r in results),
        limited=sum(r.limited for r in results),
        landed=sum(landed) if landed else None,
    )


# --- the database under test ---------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
        return
    name = f"petition_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The per-petition sign ceiling of an operator expecting a surge on ten app machines like
# this one (README, "Sizing for a surge": the default, 30000/minute, is one machine's
# intake): out of the bench's reach, so the figures include counting in Redis, not
# refusing.
BIG_PETITION_CEILING = "300000/minute"


def signing_key_file(folder: Path) -> Path:
    """A batch signing key in ``folder`` (made once), as production has one configured:
    every petition page and API answer shows its fingerprint."""
    path = folder / "signing-key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def service_env(url: str, folder: Path, *, storage_uri: str = REDIS_URL) -> dict[str, str]:
    return {
        "PETITION_ENV": "production",
        "PETITION_SECRET_KEY": "bench-" + "k" * 40,
        "PETITION_DATABASE_URL": url,
        "PETITION_MAIL_URL": "smtp://127.0.0.1:9",  # only the worker would use it
        "PETITION_BASE_URL": "http://127.0.0.1",
        "PETITION_INSTANCE_PATH": str(folder / "instance"),
        "PETITION_SIGNING_KEY_FILE": str(signing_key_file(folder)),
        "PETITION_RATELIMIT_STORAGE_URI": storage_uri,
        "PETITION_PROXY_HOPS": "1",
        # All load comes from one petition. Every request comes from an address of its
        # own (bench/wrk), so the per-address limits keep their defaults.
        "PETITION_RATELIMIT_SIGN_PER_PETITION": BIG_PETITION_CEILING,
    }


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def reference_app(url: str) -> tuple[str, dict[str, str]]:
    """The reference app for gunicorn and its environment, its table made here first:
    two workers each creating it at boot raced on PostgreSQL (one failed on the catalog's
    unique index, and gunicorn stops when a worker fails to boot)."""
    from bench import reference

    eng = reference.engine_for(url)
    reference.metadata.create_all(eng)
    eng.dispose()
    return "bench.reference:create_app()", {"BENCH_DATABASE_URL": url}


def count(url: str, table: str, where: str = "1=1") -> int:
    eng = engine(url)
    with eng.connect() as conn:
        value = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()  # noqa: S608
    eng.dispose()
    return int(value)


def browser_session(port: int, path: str) -> tuple[str, str, str]:
    """GET a page like a browser: the session cookie, its CSRF token and the page."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"http://127.0.0.1:{port}{path}").read().decode()
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, found.group(1), html


def browser_session_client(client, path: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """As :func:`browser_session` through a Flask test client (which keeps the cookie):
    the CSRF token and the other hidden fields."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1), form_extras(html)


def form_extras(html: str) -> str:
    """Hidden fields a browser would send back besides the CSRF token (bot traps, timing)."""
    fields = re.findall(r'<input[^>]*type="hidden"[^>]*>', html)
    extra = ""
    for field in fields:
        name = re.search(r'name="([^"]+)"', field)
        value = re.search(r'value="([^"]*)"', field)
        if name and name.group(1) != "csrf_token":
            extra += "&" + urllib.parse.urlencode({name.group(1): value.group(1) if value else ""})
    return extra


def seed_pending_tokens(url: str, n: int) -> list[str]:
    """n pending signatures with known confirmation tokens, inserted in bulk."""
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    eng = engine(url)
    with eng.begin() as conn:
        petition_id, version_id = conn.execute(
            sa.text("SELECT id, current_version_id FROM petitions WHERE slug = :s"), {"s": SLUG}
        ).one()
        tag = secrets.token_hex(3)
        conn.execute(
            sa.text(
                "INSERT INTO signatures (petition_id, version_id, name, email, canonical_email, country,"
                " is_public, has_update_consent, status, source, confirm_expires_at,"
                " is_counted, receipt_id, created_at) VALUES (:p, :v, 'Bench', :e, :e, 'SY', false, false,"
                " 'pending', 'page', :x, false, :r, :now)"
            ),
            [
                {
                    "p": petition_id,
                    "v": version_id,
                    "e": f"c{tag}-{i}@example.org",
                    "h": hashlib.sha256(t.encode()).hexdigest(),
                    "r": secrets.token_hex(16),
                    "x": "2999-01-01 00:00:00+00:00",
                    "now": "2026-01-01 00:00:00+00:00",
                }
                for i, t in enumerate(tokens)
            ],
        )
        # Each signature's confirm link (signature_links), found by its address.
        conn.execute(
            sa.text(
                "INSERT INTO signature_links (signature_id, purpose, token_hash, created_at,"
                " expires_at) SELECT id, 'confirm', :h, :now, :x FROM signatures"
                " WHERE petition_id = :p AND canonical_email = :e"
            ),
            [
                {
                    "p": petition_id,
                    "e": f"c{tag}-{i}@example.org",
                    "h": hashlib.sha256(t.encode()).hexdigest(),
                    "x": "2999-01-01 00:00:00+00:00",
                    "now": "2026-01-01 00:00:00+00:00",
                }
                for i, t in enumerate(tokens)
            ],
        )
    eng.dispose()
    return tokens


def seed_verified(url: str, n: int) -> None:
    """n verified, counted signatures by bulk insert (for the read-at-scale runs)."""
    eng = engine(url)
    with eng.begin() as conn:
        petition_id, version_id = conn.execute(
            sa.text("SELECT id, current_version_id FROM petitions WHERE slug = :s"), {"s": SLUG}
        ).one()
        start = conn.execute(
            sa.text("SELECT last_sequence FROM petitions WHERE id = :p"), {"p": petition_id}
        ).scalar_one()
        if eng.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "INSERT INTO signatures (petition_id, version_id, name, email, canonical_email, country,"
                    " is_public, has_update_consent, status, source, is_counted, sequence, created_at, verified_at,"
                    " receipt_id)"
                    " SELECT :p, :v, 'Seeded ' || g, 'seed' || g || '@example.org', 'seed' || g || '@example.org',"
                    " 'SY', g % 3 = 0, false, 'verified', 'import', true, :start + g, now(), now(),"
                    # Bench rows only: md5 of random() is not the app's 16 random bytes.
                    " md5(random()::text || g)"
                    " FROM generate_series(1, :n) AS g"
                ),
                {"p": petition_id, "v": version_id, "n": n, "start": start},
            )
        else:
            conn.execute(
                sa.text(
                    "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < :n)"
                    " INSERT INTO signatures (petition_id, version_id, name, email, canonical_email, country,"
                    " is_public, has_update_consent, status, source, is_counted, sequence, created_at, verified_at,"
                    " receipt_id)"
                    " SELECT :p, :v, 'Seeded ' || x, 'seed' || x || '@example.org', 'seed' || x || '@example.org',"
                    " 'SY', x % 3 = 0, 0, 'verified', 'import', 1, :start + x, '2026-01-01 00:00:00+00:00',"
                    " '2026-01-01 00:00:00+00:00', lower(hex(randomblob(16))) FROM g"
                ),
                {"p": petition_id, "v": version_id, "n": n, "start": start},
            )
        conn.execute(
            sa.text(
                "UPDATE petitions SET signature_count = signature_count + :n, last_sequence = last_sequence + :n"
                " WHERE id = :p"
            ),
            {"n": n, "p": petition_id},
        )
        # As the fold would: the seeded signatures are all from SY.
        conn.execute(
            sa.text(
                "INSERT INTO petition_country_counts (petition_id, country, signature_count)"
                " VALUES (:p, 'SY', :n) ON CONFLICT (petition_id, country)"
                " DO UPDATE SET signature_count = petition_country_counts.signature_count + :n"
            ),
            {"n": n, "p": petition_id},
        )
    if eng.dialect.name == "postgresql":
        # What autovacuum gives a table that grew one signature at a time (it is off on
        # these machines, and the seed is one INSERT): statistics. Without them the
        # planner took the table for empty and read the petition's million rows for the
        # newest public signers (a bitmap scan and a sort: 228 ms by EXPLAIN ANALYZE, the
        # page's p99 222 to 351 ms in four runs) instead of walking (petition_id,
        # sequence) backwards (p99 6 ms).
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM (ANALYZE) signatures"))
    eng.dispose()


def time_group_by_country(url: str) -> float:
    """Milliseconds for one exact per-country count over all signatures (best of 3)."""
    eng = engine(url)
    timings = []
    with eng.connect() as conn:
        for _ in range(3):
            started = time.perf_counter()
            conn.execute(
                sa.text(
                    "SELECT country, COUNT(*) FROM signatures WHERE status = 'verified'"
                    " GROUP BY country"
                )
            ).all()
            timings.append((time.perf_counter() - started) * 1000)
    eng.dispose()
    return min(timings)


# --- the in-process parts: mail worker and fold --------------------------------------


def bench_worker_and_fold(url: str, folder: Path, n_mail: int, n_fold: int) -> dict[str, float]:
    from petition import create_app
    from petition.config import Settings
    from petition.db import db, session_scope
    from petition.mail import worker
    from petition.mail.models import OutboxMessage
    from petition.signing.counts import fold_counts

    # The SMTP server in a process of its own, as a real one would be: in a thread of
    # this one it would share the interpreter lock with the worker it measures.
    port = free_port()
    controller = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("aiosmtpd did not start")
        time.sleep(0.1)
    try:
        settings = Settings(
            database_url=url,
            instance_path=str(folder / "instance"),
            mail_url=f"smtp://127.0.0.1:{port}",
            base_url="http://127.0.0.1",
        )
        app = create_app(settings)
        payload = {
            "name": "Bench",
            "petition_title": "Defend the People of Daraa",
            "confirm_url": "http://127.0.0.1/p/x/confirm/" + "a" * 43,
            "withdraw_url": "http://127.0.0.1/p/x/withdraw/" + "b" * 43,
            "expires_days": 7,
        }
        with app.app_context():
            with session_scope() as session:
                session.execute(
                    sa.insert(OutboxMessage),
                    [
                        {
                            "template": "confirm",
                            "to_address": f"m{i}@example.org",
                            "locale": "en",
                            "payload": payload,
                            "message_id": f"<bench.{i}.{time.time_ns()}@127.0.0.1>",
                        }
                        for i in range(n_mail)
                    ],
                )
            sender = worker.make_sender(settings)
            sent_before = count(url, "outbox_messages", "status = 'sent'")
            started = time.perf_counter()
            while worker.deliver_due(
                sender=sender, settings=settings, worker_id="bench", limit=200
            ):
                pass
            mail_seconds = time.perf_counter() - started
            sender.close()
            received = count(url, "outbox_messages", "status = 'sent'") - sent_before
            # The fold: n verified signatures waiting to be counted.
            eng = db.engine
            with eng.begin() as conn:
                conn.execute(
                    sa.text(
                        "UPDATE signatures SET status = 'verified', verified_at = created_at"
                        " WHERE status = 'pending'"
                    )
                )
            pending = count(
                url,
                "signatures",
                "status = 'verified' AND NOT is_counted"
                if "postgresql" in url
                else "status = 'verified' AND is_counted = 0",
            )
            started = time.perf_counter()
            folded = 0
            while True:
                with session_scope() as session:
                    step = fold_counts(session, limit=5000)
                if not step:
                    break
                folded += step
            fold_seconds = time.perf_counter() - started
            db.engine.dispose()
    finally:
        controller.terminate()
        controller.wait(timeout=10)
    return {
        "mails": received,
        "mail_per_s": received / mail_seconds,
        "folded": folded,
        "fold_per_s": folded / fold_seconds if fold_seconds else 0.0,
        "fold_candidates": pending,
    }


# --- one database ---------------------------------------------------------------------


@dataclasses.dataclass
class Measured:
    """One database's figures, for its own table and the closing one."""

    kind: str
    med: dict[str, Result]
    ratios: dict[str, float]
    big: dict[str, Result]
    big_ratios: dict[str, float]
    rss: dict[str, list[float]]
    inproc: dict[str, float]

    @property
    def errors(self) -> int:
        return sum(r.errors for r in (*self.med.values(), *self.big.values()))

    @property
    def limited(self) -> int:
        return sum(r.limited for r in (*self.med.values(), *self.big.values()))


def paired(
    rport: int, sport: int, path: str, opts: dict[str, float], hellos: list[Result]
) -> tuple[Result, float]:
    """A run of ``path`` right after a hello-world run of its own, and their ratio: on a
    machine shared with other work the load moves within seconds, and a ratio to a
    hello-world measured a minute earlier moved by tens of points."""
    hello = wrk(rport, "get.lua", "/hello", **opts)  # type: ignore[arg-type]
    hellos.append(hello)
    result = wrk(sport, "get.lua", path, **opts)  # type: ignore[arg-type]
    return result, result.rps / hello.rps


def run_database(kind: str, args: argparse.Namespace, storage_uri: str) -> Measured:
    with (
        tempfile.TemporaryDirectory(prefix="petition-bench-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        folder = Path(tmp)
        env = service_env(url, folder, storage_uri=storage_uri)
        flask(env, "db", "upgrade")
        flask(env, "petition", "import", str(ROOT / "content" / f"{SLUG}.md"))
        if storage_uri.startswith("redis"):
            subprocess.run(
                ["redis-cli", "-u", storage_uri, "flushdb"], capture_output=True, check=False
            )
        names = (
            ("hello", *PAIRED_READS)
            if args.reads
            else ("hello", "insert", *PAIRED_READS, "sign", "confirm")
        )
        results: dict[str, list[Result]] = {k: [] for k in names}
        ratios: dict[str, list[float]] = {}
        rss: dict[str, list[float]] = {}
        big: dict[str, list[Result]] = {}
        big_ratios: dict[str, list[float]] = {}
        ref_app, ref_env = reference_app(url)
        opts = {"duration": args.duration, "connections": args.connections}
        with gunicorn(ref_app, ref_env, workers=args.workers, probe="/hello") as (rport, rpid):
            with gunicorn("wsgi:app", env, workers=args.workers, probe=f"/p/{SLUG}") as (
                sport,
                spid,
            ):
                for _ in range(args.runs):
                    if not args.reads:
                        # A person takes a moment to fill in the form: it is loaded now
                        # and posted after the reads (at least --form-wait seconds later).
                        cookie, csrf, html = browser_session(sport, f"/p/{SLUG}")
                        form_loaded = time.monotonic()
                    for name in PAIRED_READS:
                        result, ratio = paired(rport, sport, READS[name], opts, results["hello"])
                        results[name].append(result)
                        ratios.setdefault(name, []).append(ratio)
                    if args.reads:
                        continue
                    before = count(url, "bench_rows")
                    r = wrk(rport, "insert.lua", **opts)
                    r.landed = count(url, "bench_rows") - before
                    results["insert"].append(r)
                    time.sleep(max(0.0, form_loaded + args.form_wait - time.monotonic()))
                    before = count(url, "signatures")
                    r = wrk(
                        sport,
                        "sign.lua",
                        f"/p/{SLUG}/sign",
                        cookie,
                        csrf,
                        secrets.token_hex(3),
                        form_extras(html),
                        **opts,
                    )
                    r.landed = count(url, "signatures") - before
                    results["sign"].append(r)
                    tokens = seed_pending_tokens(url, int(args.confirm_tokens))
                    token_file = folder / "tokens.txt"
                    token_file.write_text("\n".join(tokens) + "\n")
                    cookie, csrf, _ = browser_session(sport, f"/p/{SLUG}/confirm/{tokens[-1]}")
                    before = count(url, "signatures", "status = 'verified'")
                    r = wrk(
                        sport,
                        "confirm.lua",
                        f"/p/{SLUG}/confirm/",
                        cookie,
                        csrf,
                        str(token_file),
                        "2",
                        **opts,
                    )
                    r.landed = count(url, "signatures", "status = 'verified'") - before
                    results["confirm"].append(r)
                # After every read, the sign form and confirmations: a worker's memory once
                # it has served the mix a spreading petition brings.
                rss["reference"] = worker_rss_mb(rpid)
                rss["service"] = worker_rss_mb(spid)
            inproc = {} if args.reads else bench_worker_and_fold(url, folder, args.mails, 0)
            if args.scale and not args.reads:
                seed_verified(url, args.scale)
                inproc["group_by_ms"] = time_group_by_country(url)
                with gunicorn("wsgi:app", env, workers=args.workers, probe=f"/p/{SLUG}") as (
                    sport,
                    spid,
                ):
                    hellos: list[Result] = []
                    for _ in range(min(args.runs, SCALE_RUNS)):
                        for name in SCALE_READS:
                            result, ratio = paired(rport, sport, READS[name], opts, hellos)
                            big.setdefault(name, []).append(result)
                            big_ratios.setdefault(name, []).append(ratio)
                    rss["service (after scale runs)"] = worker_rss_mb(spid)
        measured = Measured(
            kind=kind,
            med={k: median_result(v) for k, v in results.items()},
            ratios={k: statistics.median(v) for k, v in ratios.items()},
            big={k: median_result(v) for k, v in big.items()},
            big_ratios={k: statistics.median(v) for k, v in big_ratios.items()},
            rss=rss,
            inproc=inproc,
        )
        print_tables(measured, args)
        return measured


def print_tables(m: Measured, args: argparse.Namespace) -> None:
    """The table; a read's ratio is the median of its runs' ratios to the hello-world
    run just before each (paired), the others' the ratio of medians."""
    reference: dict[str, str | None] = {"hello": None, "insert": None}
    reference.update(dict.fromkeys(READS, "hello"))
    reference.update(sign="insert", confirm="insert")
    print(
        f"\n### {m.kind}: {args.workers} sync gunicorn workers, wrk {args.connections} connections, "
        f"median of {args.runs} runs of {args.duration:g} s\n"
    )
    print(
        "| endpoint | req/s | p50 ms | p99 ms | errors | 429 | 2xx/3xx | rows landed "
        "| ratio to reference |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, res in m.med.items():
        ref = reference[name]
        ratio = f"{res.rps / m.med[ref].rps:.0%} of {ref}" if ref else "reference"
        if name in m.ratios:
            ratio = f"{m.ratios[name]:.0%} of hello (paired)"
        landed = "" if res.landed is None else str(res.landed)
        print(
            f"| {name} | {res.rps:,.0f} | {res.p50_ms:.1f} | {res.p99_ms:.1f} | {res.errors} | "
            f"{res.limited} | {res.ok} | {landed} | {ratio} |"
        )
    for name, res in m.big.items():
        print(
            f"| {name}, {args.scale:,} signatures stored | {res.rps:,.0f} | {res.p50_ms:.1f} | "
            f"{res.p99_ms:.1f} | {res.errors} | {res.limited} | {res.ok} | | "
            f"{m.big_ratios[name]:.0%} of hello (paired) |"
        )
    print()
    print(f"- machine load average at the end: {load_average()}")
    for name, values in m.rss.items():
        print(f"- {name} worker RSS: " + ", ".join(f"{v:.0f} MB" for v in values))
    if not m.inproc:
        return
    print(
        f"- mail worker: {m.inproc['mails']:,.0f} mails at {m.inproc['mail_per_s']:,.0f}/s to a local SMTP server "
        "(one persistent connection)"
    )
    print(f"- count fold: {m.inproc['folded']:,.0f} signatures at {m.inproc['fold_per_s']:,.0f}/s")
    if "group_by_ms" in m.inproc:
        print(
            f"- one GROUP BY country over {args.scale:,} signatures: {m.inproc['group_by_ms']:,.0f} ms "
            "(what /countries would cost per request without the folded per-country counts)"
        )


LABELS = {
    "page": "petition page",
    "count": "live count `/p/<slug>/count`",
    "api": "count API",
    "countries": "countries API",
    "widget": "widget frame (sign)",
    "widget count": "widget, count mode",
    "embed.js": "`embed.js`",
    "sign": "sign (real form)",
    "confirm": "confirm",
}


def print_summary(
    measured: list[Measured], args: argparse.Namespace, notes: list[str], started: str
) -> None:
    """One table of every database, each read's paired ratio beside issue 19's target."""
    print(f"\n### Summary: {', '.join(m.kind for m in measured)}\n")
    for note in notes:
        print(f"- {note}")
    print(f"- load average at the start: {started}; at the end: {load_average()}")
    print(
        f"- {args.workers} sync gunicorn workers, wrk {args.connections} connections on "
        f"127.0.0.1, median of {args.runs} paired runs of {args.duration:g} s\n"
    )
    head = " | ".join(f"{m.kind} req/s | % of hello" for m in measured)
    print(f"| endpoint | {head} | target |")
    print("| --- |" + " ---: | ---: |" * len(measured) + " --- |")
    cells = " | ".join(f"{m.med['hello'].rps:,.0f} | " for m in measured)
    print(f"| hello-world (reference) | {cells} | |")
    for name in (*PAIRED_READS, "sign", "confirm"):
        row = []
        for m in measured:
            if name not in m.med:
                continue
            ratio = (
                f"{m.ratios[name]:.0%}"
                if name in m.ratios
                else f"{m.med[name].rps / m.med['insert'].rps:.0%} of insert"
            )
            row.append(f"{m.med[name].rps:,.0f} | {ratio}")
        if not row:
            continue
        target = f"≥ {TARGETS[name]:.0%}" if name in TARGETS else ""
        print(f"| {LABELS[name]} | {' | '.join(row)} | {target} |")
    errors = " | ".join(f"{m.errors} | {m.limited} 429s" for m in measured)
    print(f"| errors (not 2xx/3xx), 429s | {errors} | 0 |")
    rss = " | ".join(
        ", ".join(f"{v:.0f}" for v in m.rss.get("service", [])) + " MB | " for m in measured
    )
    print(f"| web worker RSS after the runs | {rss} | ≤ 80 MB |")
    below = [
        f"{LABELS[name]} on {m.kind} ({m.ratios[name]:.0%})"
        for m in measured
        for name, target in TARGETS.items()
        if m.ratios.get(name, 1.0) < target
    ]
    print("\n- below target: " + ("; ".join(below) if below else "none"))


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--databases",
        default="auto",
        help="comma-separated sqlite,postgresql; auto: SQLite, and PostgreSQL if it answers",
    )
    # Five short paired runs rather than three long ones: a median of five ratios, each
    # to a hello-world measured seconds before, in under 5 minutes for both databases.
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument(
        "--scale",
        type=int,
        default=1_000_000,
        help="verified signatures for the read runs (0: skip)",
    )
    parser.add_argument(
        "--confirm-tokens", type=int, default=5_000, help="pending signatures per confirm run"
    )
    parser.add_argument(
        "--form-wait", type=float, default=3.0, help="seconds between loading and posting the form"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one short run of each, for a smoke test"
    )
    parser.add_argument(
        "--reads", action="store_true", help="only hello-world and the read endpoints"
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.duration, args.mails, args.scale, args.confirm_tokens = (
            1,
            1.0,
            50,
            1000,
            2000,
        )
        args.form_wait = 0.0
    started = load_average()
    kinds, notes = databases_to_run(args.databases, POSTGRES_ADMIN)
    storage_uri, storage_note = limits_storage(REDIS_URL)
    notes = [storage_note, DEPLOYED, *notes]
    for note in notes:
        print(f"- {note}", flush=True)
    began = time.monotonic()
    measured = [run_database(kind, args, storage_uri) for kind in kinds]
    print_summary(measured, args, notes, started)
    print(f"- took {time.monotonic() - began:.0f} s")
    failed = [f"{m.kind}: {m.errors} errors" for m in measured if m.errors]
    if failed:
        print("\nerrors (answers other than 2xx/3xx/429, or socket errors): " + "; ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
