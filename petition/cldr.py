"""The CLDR entries the pages use, for the languages we ship, without Babel's whole data.

Babel loads a language's CLDR data whole the first time it is asked anything of it:
English with its root locale is 3.1 MB of a worker's memory, Arabic 1.3 MB, and the
global data it needs to find a locale's parent 2.5 MB. The pages use a few entries of
it: country and language names, the writing direction, number symbols and formats,
month and day names and the date formats. A child process loads Babel's data and hands
over only those entries (about 70 KB pickled), which are put in Babel's cache of loaded
locales, so Babel's own functions format with them. Taking the entries and freeing the
rest in this process gives no memory back (the allocator's arenas stay pinned; measured),
hence the child, once per process, like ``export.batch_key``'s.

Nothing is ever answered differently, only with more memory: an entry not taken here
is read from Babel's whole data for that language, loaded at that moment, and a locale
that inherits from one of ours (``ar_SY`` from ``ar``) inherits Babel's whole data.
:func:`missed` says which entries had to be read that way (tests/i18n/test_cldr.py
checks that the pages miss none and that every entry taken equals Babel's own, for
every shipped language). Languages we do not ship are loaded by Babel as usual.

This reaches into Babel's internals (``babel.localedata._cache``, the dictionary its
``load`` keeps loaded locales in), so it does nothing when they are not as expected:
Babel then loads its whole data as before.
"""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterable
from typing import Any

from babel import Locale, localedata

logger = logging.getLogger(__name__)

# What the pages, mails and organizer pages ask of a locale: names (Locale.languages,
# territories, scripts, variants for get_display_name), character_order (direction),
# numbers (format_number) and dates and times (format_date/format_datetime).
ENTRIES = (
    "character_order",
    "languages",
    "territories",
    "scripts",
    "variants",
    "number_symbols",
    "decimal_formats",
    "percent_formats",
    "date_formats",
    "time_formats",
    "datetime_formats",
    "datetime_skeletons",
    "months",
    "days",
    "quarters",
    "eras",
    "day_periods",
    "plural_form",
)

_CHILD_PROGRAM = """
import pickle, sys
from babel import localedata
entries = sys.argv[1].split(",")
taken = {}
for name in sys.argv[2:]:
    data = localedata.load(name)
    taken[name] = {key: data[key] for key in entries if key in data}
sys.stdout.buffer.write(pickle.dumps(taken, protocol=pickle.HIGHEST_PROTOCOL))
"""

_missed: set[tuple[str, str]] = set()
_whole_lock = threading.Lock()


class TakenEntries(dict[str, Any]):
    """A locale's taken entries, standing in Babel's cache for its whole data: any
    other entry, and a copy (what a child locale inherits), come from the whole data."""

    def __init__(self, name: str, entries: dict[str, Any]) -> None:
        super().__init__(entries)
        self.name = name
        self._whole: dict[str, Any] | None = None

    def whole(self) -> dict[str, Any]:
        """Babel's whole data for this locale, loaded the first time it is needed."""
        with _whole_lock:
            if self._whole is None:
                # Babel's load() would answer from its cache, which holds this object.
                with localedata._cache_lock:
                    del localedata._cache[self.name]
                    try:
                        self._whole = localedata.load(self.name)
                    finally:
                        localedata._cache[self.name] = self
            return self._whole

    def __missing__(self, key: str) -> Any:
        _missed.add((self.name, key))
        return self.whole()[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.whole()

    def copy(self) -> dict[str, Any]:
        _missed.add((self.name, "(inherited)"))
        return self.whole().copy()


def identifier(code: str) -> str:
    """The name Babel loads a language's data under (``pt-BR`` → ``pt_BR``)."""
    return str(Locale.parse(code.replace("-", "_")))


def taken_in_child(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The entries of each locale in :data:`ENTRIES`, loaded by a child process so that
    this one never holds Babel's whole data. Raises ``OSError`` or
    ``subprocess.SubprocessError``, or ``RuntimeError`` when the child fails."""
    # Our own interpreter and program, the names as arguments: no shell, no input.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-c", _CHILD_PROGRAM, ",".join(ENTRIES), *names],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode:
        reason = done.stderr.decode(errors="replace").strip().splitlines() or ["failed"]
        raise RuntimeError(reason[-1])
    taken: dict[str, dict[str, Any]] = pickle.loads(done.stdout)  # noqa: S301 (our child)
    return taken


def keep_only_what_pages_use(codes: Iterable[str]) -> list[str]:
    """Put the taken entries of each language in ``codes`` in Babel's cache, unless
    Babel has loaded it already. Returns the locales done; on any failure, none (and
    Babel loads its whole data, as it would without this)."""
    cache = getattr(localedata, "_cache", None)
    if not isinstance(cache, dict) or not hasattr(localedata, "_cache_lock"):
        logger.warning("Babel keeps no locale cache this module knows: whole CLDR data used")
        return []
    names = [name for name in dict.fromkeys(map(identifier, codes)) if name not in cache]
    if not names:
        return []
    try:
        taken = taken_in_child(names)
    except (OSError, subprocess.SubprocessError, RuntimeError, pickle.UnpicklingError) as exc:
        logger.warning("could not take the CLDR entries in a child (%s): whole data used", exc)
        return []
    with localedata._cache_lock:
        for name in names:
            cache.setdefault(name, TakenEntries(name, taken[name]))
    return names


def missed() -> set[tuple[str, str]]:
    """(locale, entry) read from Babel's whole data since the process started."""
    return set(_missed)
