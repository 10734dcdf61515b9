"""Which language a page is shown in, and its writing direction.

The languages offered are the catalogs in ``translations/`` (plus English, the
language of the source strings): adding a language is adding its catalog (see
README, "Adding a language"); its name and direction come from CLDR via Babel.
"""

from __future__ import annotations

import enum
import gettext as stdlib_gettext
import logging
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from babel import Locale, UnknownLocaleError
from flask import request
from flask_babel import force_locale, get_locale, gettext, ngettext
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from petition import cldr
from petition.config import TRANSLATIONS

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

SOURCE_LANGUAGE = "en"
LANG_COOKIE = "lang"

logger = logging.getLogger(__name__)


class CatalogError(RuntimeError):
    """A language's catalog is not compiled: its pages would be shown in English."""


def N_(message: str) -> str:  # noqa: N802 (Babel's default keyword for "mark only")
    """Mark ``message`` for the catalog without translating it now: it is translated
    where it is shown, in the reader's language."""
    return message


def Np_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 (like N_)
    """Mark a counted message's two English forms for the catalog (``-k Np_:1,2``)."""
    return singular, plural


class ServiceError(Exception):
    """A refusal a person acts on, said in their language where it is shown.

    Raised with a code and the message's parameters: ``AccountError("password-too-short",
    min=12)``. A subclass lists its codes in ``messages`` (each marked with :func:`N_`,
    ``%(name)s`` placeholders filled from the parameters); a code whose message counts
    something is in ``plurals`` instead (singular, plural; the count is ``num``), so that
    every language can agree its noun. ``str()`` is the English text, for commands and
    logs; a view shows :meth:`translated`, in the reader's language.
    """

    messages: ClassVar[Mapping[str, str]] = {}
    plurals: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def __init__(self, code: str, **params: Any) -> None:
        if code not in self.messages and code not in self.plurals:
            raise KeyError(f"{type(self).__name__} has no message {code!r}")
        super().__init__(code)
        self.code = code
        self.params = params

    def translated(self) -> str:
        """The message in the current locale (the reader's, in a request)."""
        if self.code in self.plurals:
            singular, plural = self.plurals[self.code]
            params = dict(self.params)
            return str(ngettext(singular, plural, params.pop("num"), **params))
        return str(gettext(self.messages[self.code], **self.params))

    def __str__(self) -> str:
        with force_locale(SOURCE_LANGUAGE):
            return self.translated()


# kind → (the enum, its members' labels): what `{{ value|label("kind") }}` shows.
_LABELS: dict[str, tuple[type[enum.StrEnum], Mapping[str, Any]]] = {}


def register_labels(kind: str, members: type[enum.StrEnum], labels: Mapping[Any, Any]) -> None:
    """Name each value of ``members`` for people: ``labels`` maps every member to a lazy
    string (``lazy_pgettext("petition status", "open")``: the context keeps a petition's
    "open" and another word's apart in the catalogs). tests/i18n/test_catalogs.py fails
    on a member without a label or an enum column shown without one."""
    missing = set(members) - set(labels)
    if missing:
        raise ValueError(f"{kind}: no label for {sorted(missing)}")
    _LABELS[kind] = (members, {str(member): text for member, text in labels.items()})


def label(value: object, kind: str) -> str:
    """``value`` (a member or its stored string) in the reader's language."""
    text = _LABELS[kind][1].get(str(value))
    return str(text) if text is not None else str(value)


def lazy_labels(kind: str) -> Mapping[str, Any]:
    """The stored value → its lazy label (for a form's choices, made before any request)."""
    return _LABELS[kind][1]


def label_kinds() -> dict[str, type[enum.StrEnum]]:
    """Every registered kind and its enum (for the catalog test)."""
    return {kind: members for kind, (members, _labels) in _LABELS.items()}


def english_count(num: int, singular: str, plural: str) -> str:
    """``1 signature``, ``2 signatures``: for the commands, which speak English to the
    operator. The standard library's ``ngettext`` without a catalog gives English's two
    forms; it is not Babel's keyword, so these words stay out of the translators' catalog."""
    return f"{num} {stdlib_gettext.ngettext(singular, plural, num)}"


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
    return {code: _own_name(code) for code in _shipped_codes()}


def _shipped_codes() -> list[str]:
    found = {
        folder.name
        for folder in (TRANSLATIONS.iterdir() if TRANSLATIONS.is_dir() else ())
        if (folder / "LC_MESSAGES" / "messages.po").exists()
    }
    return [SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE})]


# Before any name is asked: Babel keeps only the CLDR entries the pages use for our
# languages (about 6 MB less per worker; petition/cldr.py).
cldr.keep_only_what_pages_use(_shipped_codes())
LANGUAGES = _discover()


# Parsed once: Flask-Babel parses what the selector returns on every request unless
# it is a Locale already (a tenth of a kept widget frame's time, measured).
_LOCALES = {code: Locale.parse(code.replace("-", "_")) for code in LANGUAGES}
_CODES = list(LANGUAGES)


def select_locale() -> Locale:
    """``?lang=``, then the cookie set by the language switch, then Accept-Language."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in _LOCALES:
            return _LOCALES[candidate]
    return _LOCALES[accepted_language(request.headers.get("Accept-Language"))]


@lru_cache(maxsize=1024)
def accepted_language(header: str | None) -> str:
    """Our language that an ``Accept-Language`` header prefers (English when none is).

    The one thing of the header an answer depends on: :mod:`petition.fastreads` keys kept
    answers on it, so the many spellings browsers send ("en-GB,en;q=0.9", "en-US") share
    one. Parsed once per spelling (bounded).
    """
    accepted = parse_accept_header(header, LanguageAccept)
    return accepted.best_match(_CODES) or SOURCE_LANGUAGE


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


def stale_catalogs(folder: Path = TRANSLATIONS) -> list[Path]:
    """The ``messages.po`` files in ``folder`` without a ``messages.mo`` compiled from them."""
    stale = []
    for po in sorted(folder.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if not mo.is_file() or (
            mo.stat().st_mtime < po.stat().st_mtime and not _compiled_from(po, mo)
        ):
            stale.append(po)
    return stale


def _compiled_from(po: Path, mo: Path) -> bool:
    """Whether ``mo`` holds exactly what compiling ``po`` gives. Only asked when the .mo
    looks older: pip and image layers do not keep a wheel's file times, so an installed
    .mo may be a moment older than the .po it was compiled from."""
    import io

    from babel.messages.mofile import read_mo, write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(source, locale=po.parent.parent.name))
    compiled.seek(0)
    with mo.open("rb") as existing:
        return _entries(read_mo(compiled)) == _entries(read_mo(existing))


def _entries(catalog: Catalog) -> dict[tuple[object, str | None], object]:
    # A plural entry's id and strings come back as lists from read_mo: make them keys.
    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(frozen(m.id), m.context): frozen(m.string) for m in catalog}


def check_catalogs(*, production: bool, folder: Path = TRANSLATIONS) -> None:
    """Refuse to start in production, and warn in development, when a catalog is not
    compiled: Flask-Babel would show that language's pages in English and say nothing.

    Raises :class:`CatalogError` in production.
    """
    stale = stale_catalogs(folder)
    if not stale:
        return
    names = ", ".join(str(po.relative_to(folder)) for po in stale)
    message = (
        f"catalogs not compiled (messages.mo missing or older than its .po): {names} in "
        f"{folder}; those languages would be shown in English. Compile them with `make install` "
        f"in a checkout, or `pybabel compile -d {folder}`; a wheel built by `pip install .` "
        "carries them compiled"
    )
    if production:
        raise CatalogError(message)
    logger.warning("%s", message)
