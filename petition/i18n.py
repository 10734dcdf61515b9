"""Which language a page is shown in, and its writing direction.

The languages offered are the catalogs in ``translations/`` (plus English, the
language of the source strings): adding a language is adding its catalog (see
README, "Adding a language"); its name and direction come from CLDR via Babel.
"""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError
from flask import request
from flask_babel import get_locale

from petition.config import PROJECT_ROOT

SOURCE_LANGUAGE = "en"
TRANSLATIONS = PROJECT_ROOT / "translations"
LANG_COOKIE = "lang"


def reader_language() -> str:
    """The language the current request is answered in (``en`` outside a request)."""
    return str(get_locale() or SOURCE_LANGUAGE)


def _parse(code: str) -> Locale | None:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None


def _own_name(code: str) -> str:
    locale = _parse(code)
    name = (locale.get_display_name(code) if locale else None) or code
    return name[:1].upper() + name[1:]


def _discover() -> dict[str, str]:
    """Code → the language's name in itself, English first, then by code."""
    found = {
        folder.name
        for folder in (TRANSLATIONS.iterdir() if TRANSLATIONS.is_dir() else ())
        if (folder / "LC_MESSAGES" / "messages.po").exists()
    }
    codes = [SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE})]
    return {code: _own_name(code) for code in codes}


LANGUAGES = _discover()


def select_locale() -> str:
    """``?lang=``, then the cookie set by the language switch, then Accept-Language."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return request.accept_languages.best_match(list(LANGUAGES)) or SOURCE_LANGUAGE


@cache
def direction(code: str) -> str:
    """``rtl`` for languages written right to left (Arabic, Persian, Hebrew…), else ``ltr``."""
    locale = _parse(code)
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def language_name(code: str, in_locale: str) -> str:
    """``code``'s name in the reader's language (``en`` in Arabic: الإنجليزية)."""
    locale = _parse(code)
    name = locale.get_display_name(in_locale) if locale else None
    return name or code
