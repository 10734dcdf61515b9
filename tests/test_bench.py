"""The benchmark scripts run (briefly), so they cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from petition.config import PROJECT_ROOT
from tests import system


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
        "| hello |",
        "| insert |",
        "| page |",
        "| api |",
        "| countries |",
        "| widget |",
        "| count |",
        "| widget count |",
        "| embed.js |",
        "of hello (paired)",
        "| sign |",
        "| confirm |",
        "mail worker:",
        "count fold:",
    ):
        assert row in done.stdout
