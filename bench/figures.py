"""Time the public figures: the migration's backfill, the fold's tally, and the reads.

A fresh SQLite database (or a scratch PostgreSQL database with ``--database-url``) gets
N signatures by bulk insert, spread over ``--days`` days (nine in ten confirmed, one in
fifty withdrawn, one in twenty flagged), and an hourly row for every hour of those days.
Then, in this process:

- the migration's backfill: downgraded to the revision before the daily figures and
  upgraded again (one scan of signatures and of the audit log);
- the tally from scratch: the cursors set back to the start and the daily figures
  emptied, :func:`petition.signing.figures.tally` until it has nothing more, as the
  fold calls it; then one tally with nothing new (the cost every fold pass pays);
- the reads: ``figures.json``, both CSVs and ``/p/<slug>/batches``, each the median CPU
  time of repeated requests in a test client, beside ``/healthz`` (touches nothing).

Printed: wall and CPU seconds (a shared machine's wall time mostly measures the others).
Run: ``.venv/bin/python -m bench.figures`` (``--size 100000 --days 365`` by default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DARAA = ROOT / "content" / "defend-the-people-of-daraa.md"
CHUNK = 20_000
BEFORE = "7e2b9d4c1a60"  # the revision before the daily figures


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s wall, {self.cpu:7.2f} s CPU"


def cpu_per_request(client: object, url: str, runs: int) -> float:
    """Median CPU milliseconds of one GET of ``url``."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        response = client.get(url)  # type: ignore[attr-defined]
        times.append(time.process_time() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default="", help="a scratch database (emptied)")
    options = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from petition import create_app
    from petition.commands import init_migrate
    from petition.config import Settings
    from petition.db import db, session_scope
    from petition.petitions import service as petitions
    from petition.petitions.models import (
        PetitionDailyFigures,
        PetitionDailyInvalidation,
        PetitionHourlyCount,
    )
    from petition.signing import figures
    from petition.signing.models import FiguresCursor, Signature

    instance = tempfile.mkdtemp(prefix="bench-figures-")
    url = options.database_url or f"sqlite:///{instance}/bench.sqlite3"
    app = create_app(Settings(instance_path=instance, database_url=url))
    init_migrate(app)
    size, days = options.size, options.days
    with app.app_context():
        if options.database_url:
            downgrade(revision="base")
        upgrade()
        with session_scope() as session:
            petition = petitions.publish(session, source=petitions.parse_petition_file(DARAA))
            petition_id, version_id, slug = petition.id, petition.current_version_id, petition.slug
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        step = dt.timedelta(days=days) / size
        for low in range(0, size, CHUNK):
            rows = []
            for n in range(low + 1, min(low + CHUNK, size) + 1):
                made = start + n * step
                confirmed = n % 10 != 0
                rows.append(
                    {
                        "petition_id": petition_id,
                        "version_id": version_id,
                        "name": f"Signer {n}",
                        "email": f"signer{n}@example.org",
                        "canonical_email": f"signer{n}@example.org",
                        "country": "SY",
                        "status": "withdrawn"
                        if n % 50 == 0
                        else "verified"
                        if confirmed
                        else "pending",
                        "source": "page",
                        "flag_reasons": "burst" if n % 20 == 0 else None,
                        "is_counted": confirmed and n % 50 != 0,
                        "sequence": n,
                        "created_at": made,
                        "verified_at": made + dt.timedelta(minutes=3) if confirmed else None,
                        "withdrawn_at": made + dt.timedelta(days=1) if n % 50 == 0 else None,
                    }
                )
            with session_scope() as session:
                session.execute(sa.insert(Signature.__table__), rows)
        with session_scope() as session:
            session.execute(
                sa.insert(PetitionHourlyCount.__table__),
                [
                    {
                        "petition_id": petition_id,
                        "hour": start + dt.timedelta(hours=h),
                        "counted": size // (days * 24) + 1,
                        "uncounted": 0,
                    }
                    for h in range(days * 24)
                ],
            )

        downgrade(revision=BEFORE)
        with Timer() as backfill:
            upgrade()

        with session_scope() as session:
            session.execute(sa.delete(PetitionDailyFigures))
            session.execute(sa.delete(PetitionDailyInvalidation))
            session.execute(sa.update(FiguresCursor).values(through_at=None, through_id=0))
        events = 0
        with Timer() as tallying:
            while True:
                with session_scope() as session:
                    added = figures.tally(session)
                if not added:
                    break
                events += added
        idle = []
        for _ in range(options.runs):
            with session_scope() as session:
                begin = time.process_time()
                figures.tally(session)
                idle.append(time.process_time() - begin)

        reads = {
            "/healthz (touches nothing)": "/healthz",
            "figures.json": f"/p/{slug}/figures.json",
            "figures-daily.csv": f"/p/{slug}/figures-daily.csv",
            "figures-hourly.csv": f"/p/{slug}/figures-hourly.csv",
            "/p/<slug>/batches": f"/p/{slug}/batches",
        }
        kept = app.test_client()  # PETITION_PAGE_CACHE_SECONDS as set (2 s by default)
        measured = {name: cpu_per_request(kept, path, options.runs) for name, path in reads.items()}
        db.engine.dispose()
    made = create_app(Settings(instance_path=instance, database_url=url, page_cache_seconds=0))
    with made.app_context():
        client = made.test_client()
        uncached = {
            name: cpu_per_request(client, path, options.runs) for name, path in reads.items()
        }
        db.engine.dispose()

    print(f"{url.split(':')[0]}, {size:,} signatures over {days} days, {days * 24:,} hourly rows")
    print(f"  migration backfill                {backfill}")
    print(f"  tally from scratch ({events:,} events) {tallying}")
    print(f"    {tallying.cpu / events * 1e6:,.1f} µs CPU per event")
    print(
        f"  tally with nothing new            {statistics.median(idle) * 1000:7.2f} ms CPU (median)"
    )
    print(f"  GET, median CPU of {options.runs} requests  made each time  kept")
    for name, ms in measured.items():
        print(f"    {name:28} {uncached[name]:9.2f} ms {ms:9.2f} ms")


if __name__ == "__main__":
    main()
