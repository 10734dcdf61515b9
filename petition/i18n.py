"""Which language a page is shown in, and its writing direction."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import request

LANGUAGES = {"en": "English", "ar": "العربية"}
RTL = {"ar"}
LANG_COOKIE = "lang"


def select_locale() -> str:
    """``?lang=``, then the cookie set by the language switch, then Accept-Language."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def direction(locale: str) -> str:
    return "rtl" if locale in RTL else "ltr"


def language_name(code: str, in_locale: str) -> str:
    """``code``'s name in the reader's language (``en`` in Arabic: الإنجليزية)."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(in_locale)
    except (ValueError, UnknownLocaleError):
        return code
    return name or code
