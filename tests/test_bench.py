"""The benchmark scripts run (briefly), so they cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import reference, run
from petition.config import PROJECT_ROOT
from tests import system
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_URL
from tests.helpers.servers import free_port


@pytest.mark.slow
def test_load_benchmark_smoke_run() -> None:
    system.require("wrk")
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--databases", "sqlite"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for row in (
        "| errors | 429 |",
        "| hello |",
        "| insert |",
        "| page |",
        "| api |",
        "| widget |",
        "| count |",
        "| widget count |",
        "| embed.js |",
        "of hello (paired)",
        "| sign |",
        "| confirm |",
        "| countries, 1,000 signatures stored |",
        "mail worker:",
        "count fold:",
        # The closing table, each read beside issue 19's target, and the load beside it.
        "### Summary: sqlite",
        "| count API |",
        "| ≥ 70% |",
        "| web worker RSS after the runs |",
        "load average at the start:",
    ):
        assert row in done.stdout, row


def test_limits_are_in_redis_when_it_answers() -> None:
    storage, note = run.limits_storage(REDIS_URL)
    assert storage == REDIS_URL
    assert "as in production" in note


def test_limits_fall_back_to_memory_and_say_so_when_redis_does_not_answer() -> None:
    silent = f"redis://127.0.0.1:{free_port()}/0"
    storage, note = run.limits_storage(silent)
    assert storage == "memory://"
    assert f"Redis at {silent} did not answer" in note


def test_postgresql_is_measured_only_when_it_answers() -> None:
    silent = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    assert run.databases_to_run("auto", silent) == (
        ["sqlite"],
        [f"PostgreSQL at {silent} did not answer: SQLite only"],
    )
    # Named on the command line, a database is run whether or not it answers (and fails).
    assert run.databases_to_run("sqlite,postgresql", silent) == (["sqlite", "postgresql"], [])


def test_postgresql_joins_when_it_answers() -> None:
    assert run.databases_to_run("auto", POSTGRES_ADMIN_URL) == (["sqlite", "postgresql"], [])


@pytest.mark.slow
def test_memory_benchmark_smoke_run() -> None:
    system.require("wrk")
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--databases", "sqlite"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| sqlite |" in done.stdout
    assert "load average:" in done.stdout


def test_the_reference_app_forks_no_connection(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gunicorn.conf.py preloads every app the bench serves, the reference endpoints too:
    # a connection pooled in the master would be one socket shared by every worker.
    monkeypatch.setenv("BENCH_DATABASE_URL", database_url)
    app = reference.create_app()
    engine = app.extensions["bench_engine"]
    try:
        assert engine.pool.checkedin() == 0
        assert app.test_client().post("/insert", data={"name": "n"}).status_code == 201
    finally:
        reference.metadata.drop_all(engine)
        engine.dispose()
