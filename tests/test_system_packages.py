"""scripts/install-system-packages: installs what is missing when it may, says so when not.

apt-get, dpkg-query and sudo are stand-ins on PATH that record what they were asked, so
nothing is installed; the packages all look missing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "install-system-packages"
NOBODY = 65534


@pytest.fixture
def fake_bin() -> Iterator[Path]:
    """A folder of stand-ins that any user may run (tmp_path is its owner's only)."""
    folder = Path(tempfile.mkdtemp(prefix="petition-fake-apt-"))
    folder.chmod(0o777)
    stand_ins = {
        "dpkg-query": "exit 1",  # nothing is installed
        "apt-get": f'echo "$*" >> {folder}/apt-get.log',
        "sudo-yes": 'if [ "$1" = -n ]; then shift; fi; [ "$1" = true ] && exit 0; exec "$@"',
        "sudo-no": "exit 1",
    }
    for name, body in stand_ins.items():
        (folder / name).write_text(f"#!/bin/sh\n{body}\n")
        (folder / name).chmod(0o755)
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def run(
    fake_bin: Path, *args: str, sudo: str, as_nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    (fake_bin / "sudo").unlink(missing_ok=True)
    (fake_bin / "sudo").symlink_to(fake_bin / f"sudo-{sudo}")
    command = [str(SCRIPT), *args]
    if as_nobody:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    return subprocess.run(
        command,
        env={"PATH": f"{fake_bin}:/usr/bin:/bin", "HOME": str(fake_bin)},
        capture_output=True,
        text=True,
        check=False,
    )


def apt_calls(fake_bin: Path) -> list[str]:
    log = fake_bin / "apt-get.log"
    return log.read_text().splitlines() if log.exists() else []


def test_installs_what_is_missing_as_root_or_through_sudo(fake_bin: Path) -> None:
    # As root it runs apt-get itself; as anyone else, through passwordless sudo.
    done = run(fake_bin, "--if-possible", sudo="yes")
    assert done.returncode == 0, done.stdout + done.stderr
    update, install = apt_calls(fake_bin)
    assert update == "update -qq"
    assert install.startswith("install -y -qq --no-install-recommends ")
    assert {"chromium", "fonts-noto-core", "libpango-1.0-0"} <= set(install.split())


def test_without_root_or_sudo_it_names_the_command_and_make_test_goes_on(fake_bin: Path) -> None:
    as_nobody = os.geteuid() == 0  # root cannot lose the right to install otherwise
    done = run(fake_bin, "--if-possible", sudo="no", as_nobody=as_nobody)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "missing system packages: chromium" in done.stdout
    assert "needs root or passwordless sudo" in done.stdout
    assert f"install them with: sudo {SCRIPT}" in done.stdout
    assert apt_calls(fake_bin) == []
    # Asked to install (CI, make bench), it fails instead.
    assert run(fake_bin, sudo="no", as_nobody=as_nobody).returncode == 1
