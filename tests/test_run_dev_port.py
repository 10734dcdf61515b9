"""`make run` on another port: the addresses the service writes follow PORT."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT
from tests.helpers.servers import free_port


def _serve(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PETITION_")}
    clean.update(PORT=str(port), PETITION_INSTANCE_PATH=str(tmp_path), **env)
    process = subprocess.Popen(
        [str(PROJECT_ROOT / "scripts" / "run-dev")],
        env=clean,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the script and its server and worker, stopped together
    )
    return process, f"http://127.0.0.1:{port}"


def _page(url: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our server)
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.slow
def test_links_follow_the_port_run_dev_serves_on(tmp_path: Path) -> None:
    process, base = _serve(tmp_path)
    try:
        # The recipient's guide writes the service's address into its commands.
        page = _page(f"{base}/verify")
        assert f"{base}/.well-known/petition-signing-key.pem" in page
        assert "127.0.0.1:5000" not in page
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@pytest.mark.slow
def test_a_base_url_that_is_set_is_kept(tmp_path: Path) -> None:
    process, base = _serve(tmp_path, PETITION_BASE_URL="https://petitions.example.org")
    try:
        page = _page(f"{base}/verify")
        assert "https://petitions.example.org/.well-known/petition-signing-key.pem" in page
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
