"""A web worker's memory after the requests a spreading petition brings, per database.

    .venv/bin/python -m bench.memory                       # SQLite, and PostgreSQL if it answers
    .venv/bin/python -m bench.memory --databases sqlite

gunicorn (2 sync workers, under ``python -OO`` as deployed) serves the service with
``bench.run``'s production settings (limits in Redis when it answers, a batch signing key
configured); wrk sends each request of the mix for a second (the petition page in English
and Arabic, the live count, the count and countries API, the widget frame in both modes
and in Arabic, ``embed.js``, the published key, and sign POSTs), then each worker's
resident memory (RSS) is read, beside hello-world's (``bench/reference.py``) under the
same gunicorn; then again once the recipient's guide (/verify, a rare page that renders
Markdown) has been served too.
Every answer must be 2xx/3xx. Only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from bench.run import (
    DEPLOYED,
    POSTGRES_ADMIN,
    REDIS_URL,
    ROOT,
    SLUG,
    browser_session,
    database,
    databases_to_run,
    flask,
    form_extras,
    gunicorn,
    limits_storage,
    load_average,
    reference_app,
    service_env,
    worker_rss_mb,
    wrk,
)

MIX = (
    f"/p/{SLUG}",
    f"/p/{SLUG}?lang=ar",
    f"/p/{SLUG}/count",
    f"/api/v1/petitions/{SLUG}",
    f"/api/v1/petitions/{SLUG}/countries",
    f"/embed/{SLUG}",
    f"/embed/{SLUG}?lang=ar",
    f"/embed/{SLUG}?mode=count",
    "/embed.js",
    "/.well-known/petition-signing-key.pem",
)


def measure(kind: str, storage_uri: str) -> tuple[list[float], list[float], list[float], int]:
    """Service workers' RSS after the mix, then after /verify too, hello-world workers'
    RSS, and the errors."""
    with (
        tempfile.TemporaryDirectory(prefix="petition-memory-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        env = service_env(url, Path(tmp), storage_uri=storage_uri)
        flask(env, "db", "upgrade")
        flask(env, "petition", "import", str(ROOT / "content" / f"{SLUG}.md"))
        opts = {"duration": 1.0, "connections": 4}
        errors = 0
        with (
            gunicorn("wsgi:app", env, workers=2, probe=f"/p/{SLUG}") as (port, pid),
            gunicorn(*reference_app(url), workers=2, probe="/hello") as (rport, rpid),
        ):
            cookie, csrf, html = browser_session(port, f"/p/{SLUG}")
            started = time.monotonic()
            for path in MIX:
                errors += wrk(port, "get.lua", path, **opts).errors  # type: ignore[arg-type]
            time.sleep(max(0.0, started + 3 - time.monotonic()))  # a person fills in the form
            sign_args = (cookie, csrf, secrets.token_hex(3), form_extras(html))
            errors += wrk(port, "sign.lua", f"/p/{SLUG}/sign", *sign_args, **opts).errors  # type: ignore[arg-type]
            wrk(rport, "get.lua", "/hello", **opts)  # type: ignore[arg-type]
            after_mix = worker_rss_mb(pid)
            errors += wrk(port, "get.lua", "/verify", **opts).errors  # type: ignore[arg-type]
            return after_mix, worker_rss_mb(pid), worker_rss_mb(rpid), errors


def megabytes(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) + " MB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--databases", default="auto")
    args = parser.parse_args()
    kinds, notes = databases_to_run(args.databases, POSTGRES_ADMIN)
    storage_uri, storage_note = limits_storage(REDIS_URL)
    for note in (storage_note, DEPLOYED, *notes):
        print(f"- {note}")
    print("\n| database | web worker RSS | after /verify too | hello-world worker RSS | errors |")
    print("| --- | ---: | ---: | ---: | ---: |")
    failed = 0
    for kind in kinds:
        service, verify, hello, errors = measure(kind, storage_uri)
        failed += errors
        print(
            f"| {kind} | {megabytes(service)} | {megabytes(verify)} | {megabytes(hello)} "
            f"| {errors} |"
        )
    print(f"\n- load average: {load_average()}")
    if failed:
        raise SystemExit(f"{failed} errors")


if __name__ == "__main__":
    main()
