"""CPU time per read, in process, beside hello-world: a figure a loaded machine keeps.

    .venv/bin/python -m bench.cpu                       # SQLite
    .venv/bin/python -m bench.cpu --database postgresql
    .venv/bin/python -m bench.cpu --only page widget    # some of the reads
    .venv/bin/python -m bench.cpu --only page --returning   # and a returning reader's page

wrk's req/s on 2 cores shared with other work moves by tens of points from one run to
the next; the CPU a request costs its own process (``time.process_time``) does not
depend on who else runs. The app runs with ``bench.run``'s production settings (limits
in Redis, one petition); every request comes through Flask's test client without a
cookie and from an address of its own, like a crowd of new readers. Each figure is the
best of 5 rounds of 300 requests; the ratio is hello-world's CPU (``bench/reference.py``,
through the same test client) over the endpoint's. Time spent waiting (on Redis, on the
database) is not CPU and is not counted: wrk's figures show it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import READS, REDIS_URL, ROOT, SLUG, database, flask, service_env

ROUNDS, PER_ROUND = 5, 300


def cpu_ms(app: Any, path: str, *, cookie: str = "") -> tuple[float, int]:
    """Best CPU milliseconds per request for ``path``, and the last status; each request
    sends ``cookie`` (a returning reader's session) or none."""
    best, status = float("inf"), 0
    sent = {"Cookie": cookie} if cookie else {}
    for warm in range(50):
        app.test_client().get(path, headers={"X-Forwarded-For": f"2001:db8:ff::{warm:x}"})
    for round_ in range(ROUNDS):
        started = time.process_time()
        for n in range(PER_ROUND):
            headers = {"X-Forwarded-For": f"2001:db8:{round_:x}::{n:x}", **sent}
            status = app.test_client().get(path, headers=headers).status_code
        best = min(best, (time.process_time() - started) / PER_ROUND * 1000)
    return best, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--only", nargs="+", choices=list(READS), help="these reads only")
    parser.add_argument(
        "--returning", action="store_true", help="also the page for a reader with a session"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="petition-cpu-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        # Flask's test client sends Host: localhost, a host production would refuse.
        env = {**service_env(url, Path(tmp)), "PETITION_TRUSTED_HOSTS": "localhost"}
        flask(env, "db", "upgrade")
        flask(env, "petition", "import", str(ROOT / "content" / f"{SLUG}.md"))
        subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], capture_output=True, check=False)
        os.environ.update(env, BENCH_DATABASE_URL=f"sqlite:///{tmp}/reference.sqlite3")
        from bench import reference
        from petition import create_app

        hello, _ = cpu_ms(reference.create_app(), "/hello")
        app = create_app()
        print(
            f"\n### {args.database}: CPU per request in process, best of {ROUNDS} x {PER_ROUND}\n"
        )
        print("| endpoint | CPU ms | ratio to hello-world |")
        print("| --- | ---: | ---: |")
        print(f"| hello | {hello:.2f} | reference |")
        for name, path in READS.items():
            if args.only and name not in args.only:
                continue
            ms, status = cpu_ms(app, path)
            assert status == 200, (path, status)
            print(f"| {name} | {ms:.2f} | {hello / ms:.0%} |")
        if args.returning:
            # A reader back on the page: the session cookie their first visit set.
            first = app.test_client().get(READS["page"], headers={"X-Forwarded-For": "2001:db8::1"})
            cookie = first.headers["Set-Cookie"].split(";", 1)[0]
            ms, status = cpu_ms(app, READS["page"], cookie=cookie)
            assert status == 200, status
            print(f"| page, returning reader | {ms:.2f} | {hello / ms:.0%} |")


if __name__ == "__main__":
    main()
