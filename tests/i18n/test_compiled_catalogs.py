"""A catalog that is not compiled stops production and warns in development."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from petition import i18n
from petition.config import TRANSLATIONS


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the project's Arabic catalog, compiled."""
    catalog = tmp_path / "ar" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    shutil.copy(TRANSLATIONS / "ar" / "LC_MESSAGES" / "messages.po", catalog / "messages.po")
    compile_catalog(catalog / "messages.po")
    return tmp_path


def compile_catalog(po: Path) -> None:
    with po.open("rb") as source, po.with_suffix(".mo").open("wb") as target:
        write_mo(target, read_po(source, locale="ar"))


def make_older(mo: Path) -> None:
    """As pip leaves an installed wheel: the .mo written a moment before its .po."""
    po = mo.with_suffix(".po")
    os.utime(mo, ns=(po.stat().st_atime_ns, po.stat().st_mtime_ns - 1_000_000))


def test_a_compiled_catalog_passes(folder: Path) -> None:
    assert i18n.stale_catalogs(folder) == []
    i18n.check_catalogs(production=True, folder=folder)


def test_a_missing_mo_stops_production_with_the_fix(folder: Path) -> None:
    (folder / "ar" / "LC_MESSAGES" / "messages.mo").unlink()
    with pytest.raises(i18n.CatalogError) as refused:
        i18n.check_catalogs(production=True, folder=folder)
    assert "ar/LC_MESSAGES/messages.po" in str(refused.value)
    assert "make install" in str(refused.value)
    assert "pybabel compile" in str(refused.value)


def test_a_missing_mo_warns_in_development(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    (folder / "ar" / "LC_MESSAGES" / "messages.mo").unlink()
    with caplog.at_level(logging.WARNING, logger="petition.i18n"):
        i18n.check_catalogs(production=False, folder=folder)
    assert "catalogs not compiled" in caplog.text
    assert "make install" in caplog.text


def test_an_older_mo_compiled_from_the_same_po_is_current(folder: Path) -> None:
    make_older(folder / "ar" / "LC_MESSAGES" / "messages.mo")
    assert i18n.stale_catalogs(folder) == []


def test_an_older_mo_from_an_earlier_po_is_stale(folder: Path) -> None:
    po = folder / "ar" / "LC_MESSAGES" / "messages.po"
    po.write_text(
        po.read_text(encoding="utf-8").replace('msgstr "البلد"', 'msgstr "الدولة"'),
        encoding="utf-8",
    )
    make_older(po.with_suffix(".mo"))
    assert i18n.stale_catalogs(folder) == [po]


def test_the_projects_catalogs_are_compiled() -> None:
    # tests/conftest.py compiles them (make install does too) before any app is made.
    assert i18n.stale_catalogs() == []
