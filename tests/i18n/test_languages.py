"""The languages offered are the catalogs present; names and directions from CLDR."""

from __future__ import annotations

from pathlib import Path

import pytest

from petition import i18n


def test_a_catalog_is_all_a_language_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for code in ("ar", "fr", "fa"):
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text("", encoding="utf-8")
    (tmp_path / "not-a-catalog").mkdir()
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path)
    assert i18n._discover() == {"en": "English", "ar": "العربية", "fa": "فارسی", "fr": "Français"}


def test_the_repository_offers_english_and_arabic() -> None:
    assert i18n.LANGUAGES == {"en": "English", "ar": "العربية"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ar", "rtl"), ("fa", "rtl"), ("he", "rtl"), ("ur", "rtl"), ("en", "ltr"), ("fr", "ltr"),
     ("ar-SY", "rtl"), ("not a language", "ltr")],
)  # fmt: skip
def test_direction(code: str, expected: str) -> None:
    assert i18n.direction(code) == expected
