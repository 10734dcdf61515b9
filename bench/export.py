"""Time the export and verification of signed batches at growing sizes.

For each N, a fresh SQLite database (or a scratch PostgreSQL database with
``--database-url``) gets N verified, counted signatures by bulk insert (not through
HTTP). Then the real commands run in child processes, each measured on its own:

    flask --app wsgi petition export --petition SLUG --out DIR
    flask --app wsgi petition verify DIR/SLUG-batch-1.zip

Printed for each: wall seconds, the child's CPU seconds (user + system: on a machine
shared with other jobs, wall time mostly measures the others) and its peak resident
memory (ru_maxrss).
The database is filled by a child process too: this parent stays small, because a
child's ru_maxrss also counts the parent's pages it was forked with.
Run: ``.venv/bin/python bench/export.py`` (sizes 10000 100000 1000000 by default,
``--sizes 10000`` for a quick look). Everything stays on this machine and stops
by itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DARAA = ROOT / "content" / "defend-the-people-of-daraa.md"
SLUG = "defend-the-people-of-daraa"
FIRST = ["Layla", "Omar", "Sara", "Yusuf", "ليلى", "محمد", "Zoë", "Ahmad", "نور", "Hana"]
LAST = ["Haddad", "al-Ahmad", "حداد", "O'Brien", "Khaled", "الأحمد", "Nasser", "Smith"]
CHUNK = 20_000


def populate(instance: str, database_url: str, count: int) -> None:
    """Runs in a child process (``--populate``): the app's imports stay out of the parent."""
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from petition import create_app
    from petition.commands import init_migrate
    from petition.config import Settings
    from petition.db import db, session_scope
    from petition.petitions import service as petitions
    from petition.petitions.models import Petition
    from petition.signing.models import Signature

    app = create_app(Settings(instance_path=instance, database_url=database_url))
    init_migrate(app)
    with app.app_context():
        upgrade()
        with session_scope() as session:
            petition = petitions.publish(session, source=petitions.parse_petition_file(DARAA))
            petition_id, version_id = petition.id, petition.current_version_id
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        table = Signature.__table__
        for low in range(0, count, CHUNK):
            rows = []
            for n in range(low + 1, min(low + CHUNK, count) + 1):
                rows.append(
                    {
                        "petition_id": petition_id,
                        "version_id": version_id,
                        "name": f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]} {n}",
                        "email": f"signer{n}@example.org",
                        "canonical_email": f"signer{n}@example.org",
                        "country": "SY",
                        "postcode": None,
                        "is_public": False,
                        "has_update_consent": False,
                        "status": "verified",
                        "source": "page",
                        "is_counted": True,
                        "sequence": n,
                        "created_at": start,
                        "verified_at": start + dt.timedelta(seconds=n),
                    }
                )
            with session_scope() as session:
                session.execute(sa.insert(table), rows)
        with session_scope() as session:
            session.execute(
                sa.update(Petition)
                .where(Petition.id == petition_id)
                .values(signature_count=count, last_sequence=count)
            )
        db.engine.dispose()


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def run(count: int, database_url: str | None, keep: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-export-{count}-"))
    try:
        url = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--populate", str(count), str(folder), url],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        populated = time.perf_counter() - started
        env = dict(os.environ, PETITION_INSTANCE_PATH=str(folder), PETITION_DATABASE_URL=url)
        # The flask beside this interpreter: whichever virtualenv runs the benchmark.
        flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "petition"]
        out = folder / "out"
        export_s, export_cpu, export_mb, _ = measure(
            [*flask, "export", "--petition", SLUG, "--out", str(out)], env
        )
        batch = out / f"{SLUG}-batch-1.zip"
        verify_s, verify_cpu, verify_mb, report = measure([*flask, "verify", str(batch)], env)
        assert f"{count} rows in signature order" in report, report
        return {
            "n": count,
            "populate_s": populated,
            "export_s": export_s,
            "export_cpu": export_cpu,
            "export_mb": export_mb,
            "verify_s": verify_s,
            "verify_cpu": verify_cpu,
            "verify_mb": verify_mb,
            "zip_mb": batch.stat().st_size / 1e6,
        }
    finally:
        if database_url:
            subprocess.run(
                [
                    "psql",
                    database_url,
                    "-qc",
                    "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public",
                ],
                check=True,
            )
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def compare_parts(repeats: int) -> None:
    """Typeset one delivery part of 2,000 names both ways, in turn, in this process.

    WeasyPrint (as every part was before) against petition.export.name_pages: the ratio
    of the two medians holds up on a busy machine better than either time alone.
    """
    import statistics

    sys.path.insert(0, str(ROOT))
    from petition import create_app
    from petition.config import Settings
    from petition.export import name_pages, pdf

    app = create_app(Settings(instance_path=tempfile.mkdtemp(prefix="bench-parts-")))
    lines = [
        (str(n), f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]} {n}", "SY")
        for n in range(1, pdf.NAMES_PER_PART + 1)
    ]
    ways = {
        "weasyprint": lambda: pdf.render_part(
            number=2, lines=lines, cover=None, title="Bench", batch_sequence=1
        ),
        "name_pages": lambda: pdf.render_names(
            number=2, lines=lines, title="Bench", batch_sequence=1
        ),
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    with app.app_context():
        assert name_pages.typesetter() is not None, "fonts missing: name_pages would not run"
        for render in ways.values():
            render()  # warm: imports, fonts, shaped words
        for _ in range(repeats):
            for way, render in ways.items():
                started = time.process_time()
                render()
                times[way].append(time.process_time() - started)
    medians = {way: statistics.median(t) for way, t in times.items()}
    for way, median in medians.items():
        print(
            f"{way:>11}: {median * 1e6 / len(lines):7.1f} µs CPU per name "
            f"(median of {repeats} parts of {len(lines):,})"
        )
    print(f"{'ratio':>11}: {medians['weasyprint'] / medians['name_pages']:.1f}×")

    # The whole document, 20 parts, with the name-only parts set here or in the worker
    # process beside the caller (which here does nothing else: in an export it reads rows).
    count = 20 * pdf.NAMES_PER_PART
    walls: dict[bool, list[float]] = {False: [], True: []}
    with app.app_context():
        for _ in range(repeats):
            for parallel in (False, True):
                pdf.PARALLEL_PARTS = parallel
                folder = Path(tempfile.mkdtemp(prefix="bench-parts-"))
                started = time.perf_counter()
                document = pdf.DeliveryDocument(folder, title="Bench", batch_sequence=1)
                for n in range(1, count + 1):
                    document.add(n, f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]} {n}", "SY")
                document.typeset()
                walls[parallel].append(time.perf_counter() - started)
                shutil.rmtree(folder)
    for parallel, label in ((False, "in process"), (True, "in a worker")):
        print(
            f"{label:>11}: {statistics.median(walls[parallel]):6.2f} s wall for {count:,} names "
            f"(median of {repeats})"
        )


def main() -> None:
    if sys.argv[1:2] == ["--populate"]:
        populate(sys.argv[3], sys.argv[4], int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--database-url",
        help="a scratch PostgreSQL database to use instead of SQLite (it is emptied!)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument(
        "--compare-parts",
        type=int,
        metavar="REPEATS",
        help="only typeset one PDF part with WeasyPrint and name_pages in turn, REPEATS times",
    )
    options = parser.parse_args()
    if options.compare_parts:
        compare_parts(options.compare_parts)
        return
    print(
        f"{'N':>9} {'export s':>9} {'CPU s':>6} {'export MB':>10} {'verify s':>9} {'CPU s':>6} "
        f"{'verify MB':>10} {'ZIP MB':>7} {'µs/sig':>7}",
        flush=True,
    )
    for count in options.sizes:
        r = run(count, options.database_url, options.keep)
        print(
            f"{r['n']:>9,} {r['export_s']:>9.1f} {r['export_cpu']:>6.1f} {r['export_mb']:>10.0f} "
            f"{r['verify_s']:>9.1f} {r['verify_cpu']:>6.1f} {r['verify_mb']:>10.0f} {r['zip_mb']:>7.1f} "
            f"{(r['export_s'] + r['verify_s']) / count * 1e6:>7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
