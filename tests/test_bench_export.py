"""The export benchmark runs (on a small petition), so it cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT
from tests import system


@pytest.mark.slow
def test_export_benchmark_smoke_run(tmp_path: Path) -> None:
    system.require("libpango-1.0-0", "libpangoft2-1.0-0")  # the export makes delivery PDFs
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "bench" / "export.py"),
            *("--sizes", "300", "--reuse", str(tmp_path)),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "verify s" in done.stdout
    assert "      300     sqlite " in done.stdout
    assert (tmp_path / "sqlite-300.done").exists()  # kept for the next run
