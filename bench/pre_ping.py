"""What ``pool_pre_ping`` costs on the sign path: the same sign POSTs, side by side.

    .venv/bin/python -m bench.pre_ping                        # PostgreSQL
    .venv/bin/python -m bench.pre_ping --database sqlite --rounds 10

Two apps under the bench's production settings (Redis limits, one petition), one with
``PETITION_DATABASE_POOL_PRE_PING`` on and one with it off, sign in alternating rounds
through Flask's test client (the service's own time, without an HTTP server), so load
from anything else on the machine falls on both alike. Prints the median of the rounds'
signatures per second for each, and the median time per request.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.run import (
    REDIS_URL,
    ROOT,
    SLUG,
    browser_session_client,
    database,
    flask,
    service_env,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=100, help="sign POSTs per round")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="petition-pre-ping-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        # Flask's test client sends Host: localhost, a host production would refuse.
        env = {**service_env(url, Path(tmp)), "PETITION_TRUSTED_HOSTS": "localhost"}
        flask(env, "db", "upgrade")
        flask(env, "petition", "import", str(ROOT / "content" / f"{SLUG}.md"))
        subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], capture_output=True, check=False)
        os.environ.update(env)
        from petition import create_app
        from petition.config import Settings

        base = Settings.from_env()
        clients = {}
        for pre_ping in (True, False):
            app = create_app(dataclasses.replace(base, database_pool_pre_ping=pre_ping))
            client = app.test_client()
            csrf, extra = browser_session_client(client, f"/p/{SLUG}")
            clients[pre_ping] = (client, csrf, extra)
        time.sleep(3)  # past the form's minimum fill time
        rates: dict[bool, list[float]] = {True: [], False: []}
        counter = 0

        def sign_round(pre_ping: bool) -> float:
            nonlocal counter
            client, csrf, extra = clients[pre_ping]
            prefix = secrets.token_hex(3)
            started = time.perf_counter()
            for i in range(args.requests):
                counter += 1
                body = (
                    f"csrf_token={csrf}&name=Bench+Signer&country=SY&postcode=1010"
                    f"&email=p{prefix}-{i}%40example.org{extra}"
                )
                status = client.post(
                    f"/p/{SLUG}/sign",
                    data=body,
                    headers={"X-Forwarded-For": f"2001:db8::{counter:x}"},
                    content_type="application/x-www-form-urlencoded",
                ).status_code
                assert status == 303, status
            return args.requests / (time.perf_counter() - started)

        for pre_ping in (True, False):  # warm each app's pool and caches
            sign_round(pre_ping)
        for n in range(args.rounds):
            order = (True, False) if n % 2 == 0 else (False, True)
            for pre_ping in order:
                rates[pre_ping].append(sign_round(pre_ping))
        print(f"{args.database}: {args.rounds} rounds of {args.requests} sign POSTs each")
        for pre_ping in (True, False):
            median = statistics.median(rates[pre_ping])
            print(
                f"  pool_pre_ping={'on ' if pre_ping else 'off'}: median {median:,.0f} signatures/s"
                f" ({1000 / median:.2f} ms each), rounds {[round(r) for r in rates[pre_ping]]}"
            )
        on, off = (statistics.median(rates[p]) for p in (True, False))
        print(f"  cost of pre-ping: {1000 / on - 1000 / off:+.2f} ms per signature")


if __name__ == "__main__":
    main()
