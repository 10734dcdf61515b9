"""gunicorn.conf.py's start-up checks that are not about rate limits (those are in
tests/abuse/test_shared_store.py, with the preloaded app)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from petition.config import PROJECT_ROOT

CHECK = f"""
import logging, runpy, sys
logging.basicConfig(format="%(message)s")
conf = runpy.run_path({str(PROJECT_ROOT / "gunicorn.conf.py")!r})
sys.exit(conf["warn_if_compiling"](logging.getLogger(), ["pkg_for_test"]))
"""


def _check(folder: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONOPTIMIZE", None)
    return subprocess.run(
        [sys.executable, *flags, "-c", CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_optimized_start_without_its_bytecode_warns_until_compileall_has_run(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg_for_test"
    package.mkdir()
    (package / "__init__.py").write_text('"""A package."""\n')

    unoptimized = _check(tmp_path)
    assert (unoptimized.returncode, unoptimized.stderr) == (0, "")

    warned = _check(tmp_path, "-OO")
    assert warned.returncode == 1
    assert "NO BYTECODE FOR python -OO: pkg_for_test compiled from source" in warned.stderr
    assert "-OO -m compileall -q " in warned.stderr

    subprocess.run(
        [sys.executable, "-OO", "-m", "compileall", "-q", str(tmp_path)], check=True, timeout=60
    )
    compiled = _check(tmp_path, "-OO")
    assert (compiled.returncode, compiled.stderr) == (0, "")
    # -O alone has bytecode of its own, which -OO's compileall did not write.
    assert "python -O: pkg_for_test" in _check(tmp_path, "-O").stderr
