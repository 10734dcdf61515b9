"""What the suite needs from the machine beyond Python, and how a test asks for it.

Each part is found the way the tests use it (a library that loads, a font file, a command
on PATH), not in the package database, and is named by the Debian package that brings it
(``scripts/install-system-packages`` installs them all; ``make test`` runs it when this
user may). A test that needs a missing part skips with the one command that installs it;
in CI (``CI=true``) it fails instead, since a skip there would hide the part's tests.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.machinery
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("CI", "").lower() == "true"
SCRIPT = "scripts/install-system-packages"
NOTO = Path("/usr/share/fonts/truetype/noto")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _loads(*libraries: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            for library in libraries:
                ctypes.CDLL(library)
        except OSError:
            return False
        return True

    return check


def _files(*paths: Path) -> Callable[[], bool]:
    return lambda: all(path.is_file() for path in paths)


def _commands(*names: str) -> Callable[[], bool]:
    return lambda: all(shutil.which(name) for name in names)


# Debian package → how the tests find what it brings.
CHECKS: dict[str, Callable[[], bool]] = {
    # WeasyPrint loads Pango (with GLib, HarfBuzz and fontconfig) when it is imported.
    "libpango-1.0-0": _loads("libpango-1.0.so.0"),
    "libpangoft2-1.0-0": _loads("libpangoft2-1.0.so.0"),
    # The delivery PDF sets Arabic names in Noto Naskh Arabic; the share card uses both.
    "fonts-noto-core": _files(NOTO / "NotoNaskhArabic-Regular.ttf", NOTO / "NotoSans-Bold.ttf"),
    "fonts-dejavu-core": _files(DEJAVU / "DejaVuSans-Bold.ttf"),
    "poppler-utils": _commands("pdftoppm", "pdftotext", "pdffonts"),
    "openssl": _commands("openssl"),
    "unzip": _commands("unzip"),
    "wrk": _commands("wrk"),
    "chromium": _commands("chromium"),
    "npm": _commands("npm", "node"),
}


def install_command() -> str:
    """The one command that installs every missing part, as this user types it."""
    return SCRIPT if os.geteuid() == 0 else f"sudo {SCRIPT}"


def missing(packages: Sequence[str]) -> list[str]:
    return [package for package in packages if not CHECKS[package]()]


def unavailable(reason: str) -> None:
    """Skip the running test (fail it in CI) because of ``reason``, a part it lacks."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason}: required in CI", pytrace=False)
    pytest.skip(reason)


def require(*packages: str) -> None:
    """Skip the running test (fail it in CI) unless what these packages bring is here."""
    absent = missing(packages)
    if absent:
        unavailable(f"needs {', '.join(absent)} (not found): run {install_command()}")


class _NeedsPackages(importlib.abc.MetaPathFinder):
    """Imports of ``module`` skip the test that makes them (or fail it, in CI)."""

    def __init__(self, module: str, packages: Sequence[str]) -> None:
        self.module = module
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == self.module or fullname.startswith(f"{self.module}."):
            require(*self.packages)
        return None


def guard_weasyprint() -> None:
    """Without Pango, ``import weasyprint`` raises OSError deep inside the export a test
    makes. Where Pango is missing, the import instead skips that test naming the fix: the
    PDF, and so every batch, cannot be made on this machine."""
    packages = ("libpango-1.0-0", "libpangoft2-1.0-0")
    if missing(packages) and not any(isinstance(f, _NeedsPackages) for f in sys.meta_path):
        sys.meta_path.insert(0, _NeedsPackages("weasyprint", packages))
