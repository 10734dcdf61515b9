"""deploy/: the systemd units supervise the web app, the workers and the purge."""

from __future__ import annotations

import configparser
import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
SETTINGS = {f"PETITION_{f.name.upper()}" for f in dataclasses.fields(Settings)} - {
    "PETITION_TESTING"
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name)
    return parser


@pytest.mark.parametrize("name", ["petition-web.service", "petition-worker@.service"])
def test_long_running_units_restart_forever_and_stop_with_sigterm(name: str) -> None:
    parsed = unit(name)
    assert parsed["Service"]["Restart"] == "always"
    assert parsed["Unit"]["StartLimitIntervalSec"] == "0"
    assert parsed["Service"]["KillSignal"] == "SIGTERM"
    assert parsed["Service"]["EnvironmentFile"] == "/etc/petition/petition.env"
    assert parsed["Service"]["User"] == "petition"


def test_the_worker_is_given_time_to_finish_the_message_in_hand() -> None:
    service = unit("petition-worker@.service")["Service"]
    assert service["ExecStart"] == "/opt/petition/bin/petition worker"
    grace = Settings().mail_send_timeout_seconds + 10  # petition.worker.RECORD_GRACE_SECONDS
    assert int(service["TimeoutStopSec"]) >= grace


def test_the_web_app_runs_without_docstrings_from_bytecode_the_install_compiled() -> None:
    """As the container image does (tests/test_container.py) and bench/ measures."""
    start = unit("petition-web.service")["Service"]["ExecStart"]
    assert start.startswith("/opt/petition/bin/python -OO -m gunicorn --config ")
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    compiled = readme.index("/opt/petition/bin/python -OO -m compileall -q /opt/petition/lib")
    assert readme.index("/opt/petition/bin/pip install .") < compiled
    assert "/opt/petition/bin/python -OO -m gunicorn --workers 4 " in readme
    assert "/opt/petition/bin/gunicorn" not in readme


def test_timers_run_the_purge_daily_and_the_status_check() -> None:
    assert unit("petition-purge.timer")["Timer"]["OnCalendar"] == "daily"
    assert unit("petition-purge.service")["Service"]["ExecStart"].endswith("petition purge")
    assert unit("petition-status.service")["Service"]["ExecStart"].endswith("petition status")
    assert (DEPLOY / "petition-status.timer").exists()


def test_the_environment_example_names_only_settings_the_app_reads() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "petition.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names <= SETTINGS
    assert {"PETITION_ENV", "PETITION_SECRET_KEY", "PETITION_DATABASE_URL"} <= names


def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The installed paths do not exist here; systemd checks that they do.
    for path in DEPLOY.glob("petition-*"):
        text = path.read_text().replace("/opt/petition/bin/python", "/bin/true")
        text = text.replace("/opt/petition/bin/petition", "/bin/true")
        (tmp_path / path.name.replace("@.", "@1.")).write_text(text)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
