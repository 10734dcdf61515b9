"""Profile one endpoint in-process with pyinstrument, under the bench's settings.

    .venv/bin/python -m bench.profile sign            # the petition page's sign POST
    .venv/bin/python -m bench.profile page --requests 5000
    .venv/bin/python -m bench.profile api --database postgresql

Endpoints: page, count, api, countries, widget, widget-count, embed.js, sign, confirm. The app runs as in
``bench.run`` (production settings, Redis limits, one petition), requests go
through Flask's test client, so the profile shows the service's own time without
the HTTP server. Prints pyinstrument's text report; ``--html FILE`` writes the
interactive one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

from pyinstrument import Profiler

from bench.run import (
    REDIS_URL,
    ROOT,
    SLUG,
    browser_session_client,
    database,
    flask,
    seed_pending_tokens,
    service_env,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "endpoint",
        choices=[
            "page",
            "count",
            "api",
            "countries",
            "widget",
            "widget-count",
            "embed.js",
            "sign",
            "confirm",
        ],
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--html", type=Path)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="petition-profile-") as tmp,
        database(args.database, Path(tmp)) as url,
    ):
        # Flask's test client sends Host: localhost, a host production would refuse.
        env = {**service_env(url, Path(tmp)), "PETITION_TRUSTED_HOSTS": "localhost"}
        flask(env, "db", "upgrade")
        flask(env, "petition", "import", str(ROOT / "content" / f"{SLUG}.md"))
        subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], capture_output=True, check=False)
        os.environ.update(env)
        from petition import create_app

        app = create_app()
        client = app.test_client()
        tokens = seed_pending_tokens(url, args.requests) if args.endpoint == "confirm" else []
        csrf, extra = browser_session_client(client, f"/p/{SLUG}")
        time.sleep(3 if args.endpoint == "sign" else 0)  # past the form's minimum fill time
        prefix = secrets.token_hex(3)

        def one(i: int) -> int:
            headers = {"X-Forwarded-For": f"2001:db8::{i:x}"}
            if args.endpoint == "page":
                return client.get(f"/p/{SLUG}", headers=headers).status_code
            if args.endpoint == "api":
                return client.get(f"/api/v1/petitions/{SLUG}", headers=headers).status_code
            if args.endpoint == "countries":
                return client.get(f"/api/v1/petitions/{SLUG}/countries").status_code
            if args.endpoint == "widget":
                return client.get(f"/embed/{SLUG}", headers=headers).status_code
            if args.endpoint == "widget-count":
                return client.get(f"/embed/{SLUG}?mode=count", headers=headers).status_code
            if args.endpoint == "count":
                return client.get(f"/p/{SLUG}/count", headers=headers).status_code
            if args.endpoint == "embed.js":
                return client.get("/embed.js", headers=headers).status_code
            if args.endpoint == "sign":
                body = (
                    f"csrf_token={csrf}&name=Bench+Signer&country=SY&postcode=1010"
                    f"&email=p{prefix}-{i}%40example.org{extra}"
                )
                return client.post(
                    f"/p/{SLUG}/sign",
                    data=body,
                    headers=headers,
                    content_type="application/x-www-form-urlencoded",
                ).status_code
            return client.post(
                f"/p/{SLUG}/confirm/{tokens[i]}", data={"csrf_token": csrf}, headers=headers
            ).status_code

        for i in range(min(50, args.requests // 10)):  # warm caches and connections
            one(args.requests - 1 - i)
        profiler = Profiler(interval=0.0005)
        started = time.perf_counter()
        with profiler:
            statuses = [one(i) for i in range(args.requests - 50)]
        seconds = time.perf_counter() - started
        print(
            profiler.output_text(
                unicode=True, color=False, show_all=os.environ.get("PROFILE_ALL") == "1"
            )
        )
        print(
            f"{len(statuses)} requests in {seconds:.2f} s ({len(statuses) / seconds:,.0f}/s "
            f"under the profiler), statuses {sorted(set(statuses))}"
        )
        if args.html:
            args.html.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
