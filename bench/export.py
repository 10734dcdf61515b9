"""Time the export and verification of signed batches at growing sizes.

For each N, a database gets N verified, counted signatures by bulk insert (not through
HTTP), once: it is kept under ``--reuse`` (default ``/tmp/petition-bench-export``, a SQLite
file per N, or with ``--postgresql ADMIN_URL`` a database ``petition_bench_export_N`` on
that server) and every later run starts from it, its batches deleted first. Then the
real commands run in child processes, each measured on its own:

    flask --app wsgi petition export --petition SLUG --out DIR
    flask --app wsgi petition verify DIR/SLUG-batch-1.zip

Printed for each: wall seconds, the child's CPU seconds (user + system, with the PDF
workers it waited for: on a machine shared with other jobs, wall time mostly measures the
others), its peak resident memory (ru_maxrss: the largest of the command and its
workers, not their sum), the load average when it ended, and the figures recorded before
this work (``BEFORE``) beside them. The database is filled by a child process too: this
parent stays small, because a child's ru_maxrss also counts the parent's pages it was
forked with.
Run: ``make bench-export`` (SQLite, then PostgreSQL; sizes 10000 100000 1000000) or
``.venv/bin/python bench/export.py [--sizes N …] [--postgresql URL]``. Everything stays
on this machine and stops by itself.
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


# Figures recorded before issue 17's export work (README, "Signed batches"; main at
# 631192e, load average 15-30): N -> (export wall s, export CPU s, peak MB, verify wall s,
# verify CPU s, ZIP MB).
BEFORE = {
    ("sqlite", 100_000): (82.6, 11.5, 138, 15.5, 2.1, 6.8),
    ("postgresql", 100_000): (58.4, 13.0, 143, 14.3, 2.5, 6.8),
    ("sqlite", 1_000_000): (524.4, 83.2, 138, 34.2, 7.3, 68.3),
}
FORGET_BATCHES = (
    "DELETE FROM export_batch_leaves; DELETE FROM export_batch_proofs; "
    "DELETE FROM export_retractions; DELETE FROM export_batches;"
)


def sqlite_database(reuse: Path, count: int) -> tuple[str, bool]:
    """The URL of the SQLite database of ``count`` signatures, and whether it is filled."""
    path = reuse / f"sqlite-{count}.sqlite3"
    return f"sqlite:///{path}", (reuse / f"sqlite-{count}.done").exists()


def postgresql_database(admin_url: str, count: int) -> tuple[str, bool]:
    """The URL of database petition_bench_export_N on the server of ``admin_url``
    (created empty if missing), and whether it is filled."""
    import psycopg

    name = f"petition_bench_export_{count}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        filled = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'petitions'"
        ).fetchone()
        if filled and filled[0]:
            row = conn.execute("SELECT coalesce(sum(signature_count), 0) FROM petitions").fetchone()
            return url, bool(row and row[0] == count)
        return url, False


def forget_batches(url: str) -> None:
    """Delete the batches an earlier run recorded, so the export makes batch 1 again."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.executescript(FORGET_BATCHES)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FORGET_BATCHES)


def run(count: int, backend: str, admin_url: str | None, reuse: Path) -> dict[str, float]:
    reuse.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url, filled = sqlite_database(reuse, count)
    else:
        assert admin_url
        url, filled = postgresql_database(admin_url, count)
    instance = reuse / "instance"  # one signing key for every run
    instance.mkdir(exist_ok=True)
    started = time.perf_counter()
    if not filled:
        if backend == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, __file__, "--populate", str(count), str(instance), url],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if backend == "sqlite":
            (reuse / f"sqlite-{count}.done").touch()
    populated = time.perf_counter() - started
    env = dict(os.environ, PETITION_INSTANCE_PATH=str(instance), PETITION_DATABASE_URL=url)
    # The flask beside this interpreter: whichever virtualenv runs the benchmark.
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "petition"]
    # A kept database gets the migrations landed since it was filled.
    subprocess.run([*flask[:3], "db", "upgrade"], env=env, check=True, capture_output=True)
    forget_batches(url)
    folder = Path(tempfile.mkdtemp(prefix=f"bench-export-{count}-", dir=reuse))
    try:
        out = folder / "out"
        export_s, export_cpu, export_mb, _ = measure(
            [*flask, "export", "--petition", SLUG, "--out", str(out)], env
        )
        export_load = os.getloadavg()[0]
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
            "load": export_load,
        }
    finally:
        forget_batches(url)
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
        "--postgresql",
        metavar="ADMIN_URL",
        help="measure on this PostgreSQL server instead of SQLite (databases "
        "petition_bench_export_N are created there and kept)",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        default=Path(tempfile.gettempdir()) / "petition-bench-export",
        help="where the filled SQLite databases and the signing key are kept between runs",
    )
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
    backend = "postgresql" if options.postgresql else "sqlite"
    print(
        f"{'N':>9} {'database':>10} {'export s':>9} {'CPU s':>6} {'MB':>4} {'verify s':>9} "
        f"{'CPU s':>6} {'MB':>4} {'ZIP MB':>7} {'µs/sig':>7} {'CPU µs/sig':>10} {'load':>5}",
        flush=True,
    )
    for count in options.sizes:
        r = run(count, backend, options.postgresql, options.reuse)
        print(
            f"{r['n']:>9,} {backend:>10} {r['export_s']:>9.1f} {r['export_cpu']:>6.1f} "
            f"{r['export_mb']:>4.0f} {r['verify_s']:>9.1f} {r['verify_cpu']:>6.1f} "
            f"{r['verify_mb']:>4.0f} {r['zip_mb']:>7.1f} "
            f"{(r['export_s'] + r['verify_s']) / count * 1e6:>7.0f} "
            f"{(r['export_cpu'] + r['verify_cpu']) / count * 1e6:>10.0f} {r['load']:>5.1f}",
            flush=True,
        )
        before = BEFORE.get((backend, count))
        if before:
            e, ec, mb, v, vc, z = before
            print(
                f"{'before':>9} {backend:>10} {e:>9.1f} {ec:>6.1f} {mb:>4} {v:>9.1f} {vc:>6.1f} "
                f"{'':>4} {z:>7.1f} {(e + v) / count * 1e6:>7.0f} "
                f"{(ec + vc) / count * 1e6:>10.0f} {'15+':>5}",
                flush=True,
            )


if __name__ == "__main__":
    main()
