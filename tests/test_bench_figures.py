"""The figures benchmark runs (on a small petition), so it cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from petition.config import PROJECT_ROOT


@pytest.mark.slow
def test_figures_benchmark_smoke_run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.figures", "--size", "300", "--days", "3", "--runs", "3"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "migration backfill" in done.stdout
    assert "tally from scratch" in done.stdout
    assert "figures.json" in done.stdout
