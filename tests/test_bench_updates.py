"""The updates benchmark runs (on a small petition), so it cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from petition.config import PROJECT_ROOT


@pytest.mark.slow
def test_updates_benchmark_smoke_run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.updates", "--size", "300", "--batch", "50"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "recipient count (300)" in done.stdout
    assert "fan-out of 300 in batches of 50" in done.stdout
