"""The service is a Python package: one list of pins, a wheel that holds what the app needs.

The wheel is built here with the dev environment's Hatchling (no download); the image
test (tests/test_container.py) builds and installs it with every dependency.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from petition.config import PROJECT_ROOT
from scripts import requirements
from tests import system

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CATALOGS = sorted((PROJECT_ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
# Root folder of the checkout → where the wheel holds it.
MAPPED = {
    "templates": "petition/templates",
    "static": "petition/static",
    "migrations": "petition/migrations",
    "content": "petition/content",
}


def _pins(specs: list[str]) -> dict[str, str]:
    pins = {}
    for spec in specs:
        name, _, version = spec.partition("==")
        pins[name.split("[")[0].lower()] = version
    return pins


def test_requirements_files_are_made_from_pyproject() -> None:
    assert requirements.differing() == [], "run make requirements"


def test_every_pin_is_exact() -> None:
    for spec in PYPROJECT["project"]["dependencies"] + PYPROJECT["dependency-groups"]["dev"]:
        assert "==" in spec, spec


def test_the_build_uses_the_babel_and_hatchling_the_project_pins() -> None:
    build = _pins(PYPROJECT["build-system"]["requires"])
    pinned = _pins(PYPROJECT["project"]["dependencies"] + PYPROJECT["dependency-groups"]["dev"])
    assert build == {"hatchling": pinned["hatchling"], "babel": pinned["babel"]}


def test_the_tests_look_for_packages_the_install_script_installs() -> None:
    listed = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "install-system-packages"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # nodejs and npm are listed only where no npm is installed at all.
    assert set(system.CHECKS) - {"npm"} <= set(listed)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(PROJECT_ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    [built] = out.glob("petition-*.whl")
    return built


def test_wheel_holds_the_package_and_the_root_folders_inside_it(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (PROJECT_ROOT / "petition").rglob("*.py"):
        assert module.relative_to(PROJECT_ROOT).as_posix() in names
    for folder, inside in MAPPED.items():
        files = [
            p
            for p in (PROJECT_ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
        assert files
        for path in files:
            assert f"{inside}/{path.relative_to(PROJECT_ROOT / folder).as_posix()}" in names
    # The recipient's guide, which /verify serves, in each language it is written in.
    for guide in (PROJECT_ROOT / "docs").glob("verifying-a-batch*.md"):
        assert f"petition/docs/{guide.name}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Nothing of the checkout's tooling or tests.
    assert not [n for n in names if n.split("/")[0] in {"tests", "bench", "scripts", "docs"}]


def test_wheel_holds_each_catalog_compiled_at_build_time(wheel: Path, tmp_path: Path) -> None:
    from babel.messages.mofile import read_mo

    archive = zipfile.ZipFile(wheel)
    languages = sorted(p.parent.parent.name for p in CATALOGS)
    assert "ar" in languages
    for language in languages:
        inside = f"petition/translations/{language}/LC_MESSAGES"
        assert f"{inside}/messages.po" in archive.namelist()
        (tmp_path / "messages.mo").write_bytes(archive.read(f"{inside}/messages.mo"))
        with (tmp_path / "messages.mo").open("rb") as mo:
            catalog = read_mo(mo)
        if language == "ar":
            label = catalog.get("Full name")
            assert label is not None
            assert label.string == "الاسم الكامل"


def test_wheel_declares_the_pins_and_the_petition_command(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = email.parser.Parser().parsestr(archive.read(info).decode())
    assert _pins(metadata.get_all("Requires-Dist") or []) == _pins(
        PYPROJECT["project"]["dependencies"]
    )
    entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "petition = petition.commands:main" in entry_points
