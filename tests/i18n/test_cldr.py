"""Babel holds only the CLDR entries the pages use for our languages, with the same values."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from babel import Locale, localedata

from petition import cldr, i18n
from petition.config import PROJECT_ROOT, Settings
from petition.petitions.models import Petition

# What the pages show of CLDR, through Babel's own functions: every country's name (the
# sign form's list, the countries page), our languages' names in each other, the
# direction, numbers, and dates and times in every width. Run here, where Babel holds
# the taken entries, and in a child that imports Babel alone, with its whole data.
SHOWN = """
import datetime, json, sys
from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent

def shown(codes):
    moment = datetime.datetime(2026, 3, 9, 16, 5, 7)
    out = {}
    for code in codes:
        locale = Locale.parse(code)
        out[code] = {
            "territories": dict(locale.territories),
            "names": {other: Locale.parse(other).get_display_name(code) for other in codes},
            "direction": locale.character_order,
            "numbers": [format_decimal(n, locale=code) for n in (0, 7, 999, 1000, 1234567, 0.5)],
            "percent": format_percent(0.375, locale=code),
            "dates": [format_date(moment, width, locale=code)
                      for width in ("short", "medium", "long", "full")],
            "times": [f(moment, width, tzinfo=datetime.timezone.utc, locale=code)
                      for f in (format_datetime, format_time) for width in ("short", "medium")],
            "months": [dict(locale.months["format"][w]) for w in ("abbreviated", "wide")],
            "days": dict(locale.days["format"]["wide"]),
        }
    return out
"""


def plain(value: object) -> object:
    """Babel's data as plain values: its patterns, rules and aliases by their fields (a
    rule's compiled function by its source, the rule's ``abstract``)."""
    if isinstance(value, localedata.LocaleDataDict):  # Babel keeps resolved lookups
        return plain(value._data)
    if callable(value) and not isinstance(value, type):
        return "<compiled>"
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [type(value).__name__, *(plain(item) for item in value)]
    if value is None or isinstance(value, str | int | float):
        return value
    fields = getattr(value, "__dict__", None) or {
        name: getattr(value, name) for name in getattr(type(value), "__slots__", ())
    }
    assert fields, f"no fields to compare in {value!r}"
    return [type(value).__name__, plain(fields)]


def resolved(value: object) -> object:
    """A LocaleDataDict's values with every alias resolved, as plain values."""
    if isinstance(value, localedata.LocaleDataDict):
        return {key: resolved(value[key]) for key in value}
    return plain(value)


def shown_here(codes: list[str]) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(SHOWN, namespace)  # noqa: S102 (this file's own program)
    # Through JSON, as the child's answer comes: int keys become strings on both sides.
    return json.loads(json.dumps(namespace["shown"](codes)))  # type: ignore[operator]


def shown_by_whole_babel(codes: list[str]) -> dict[str, object]:
    program = SHOWN + "\nprint(json.dumps(shown(sys.argv[1:])))\n"
    done = subprocess.run(
        [sys.executable, "-I", "-c", program, *codes], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_babel_holds_only_the_taken_entries_of_every_shipped_language() -> None:
    for code in i18n.LANGUAGES:
        entries = localedata._cache[cldr.identifier(code)]
        assert isinstance(entries, cldr.TakenEntries), code
        assert set(dict.keys(entries)) <= set(cldr.ENTRIES)


def test_every_taken_entry_is_babels_own_for_every_shipped_language() -> None:
    for code in i18n.LANGUAGES:
        entries = localedata._cache[cldr.identifier(code)]
        assert isinstance(entries, cldr.TakenEntries)
        # Resolved through Babel's own LocaleDataDict, as Babel reads them (it writes each
        # alias it resolved back into the data, so the raw values depend on what was read).
        taken = localedata.LocaleDataDict(dict(entries))
        whole = localedata.LocaleDataDict(entries.whole())
        for key in dict.keys(entries):
            assert resolved(taken[key]) == resolved(whole[key]), (code, key)


def test_what_the_pages_show_is_what_babels_whole_data_shows() -> None:
    codes = [cldr.identifier(code) for code in i18n.LANGUAGES]
    missed_before = cldr.missed()
    here = shown_here(codes)
    assert cldr.missed() == missed_before  # all of it from the taken entries
    assert here == shown_by_whole_babel(codes)
    assert here["ar"]["territories"]["SY"] == "سوريا"  # type: ignore[index]


def test_an_entry_not_taken_and_a_locale_inheriting_ours_come_from_the_whole_data() -> None:
    program = (
        "import json\n"
        "from babel import Locale\n"
        "out = {'syp': Locale.parse('ar_SY').currency_symbols['SYP'],\n"
        "       'usd': Locale.parse('ar').currencies['USD'],\n"
        "       'gb': Locale.parse('en_GB').territories['GB']}\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", program + "print(json.dumps(out))"],
        capture_output=True,
        text=True,
        check=True,
    )
    namespace: dict[str, object] = {}
    exec(program, namespace)  # noqa: S102 (this test's own program)
    assert namespace["out"] == json.loads(done.stdout)
    assert {("ar", "(inherited)"), ("ar", "currency_names")} <= cldr.missed()


def test_a_language_we_do_not_ship_is_loaded_whole() -> None:
    assert Locale.parse("fr").territories["DE"] == "Allemagne"
    assert not isinstance(localedata._cache["fr"], cldr.TakenEntries)


def test_when_the_child_fails_babel_keeps_its_whole_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    failing = tmp_path / "python"
    failing.write_text("#!/bin/sh\necho 'no babel here' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(failing))
    assert "kw" not in localedata._cache  # Cornish: no test loads it
    with pytest.raises(RuntimeError, match="no babel here"):
        cldr.taken_in_child(["kw"])
    assert cldr.keep_only_what_pages_use(["kw"]) == []
    assert "kw" not in localedata._cache
    assert Locale.parse("kw").territories["GB"] == Locale.parse("kw").territories.get("GB")
    assert not isinstance(localedata._cache["kw"], cldr.TakenEntries)


def test_serving_the_pages_reads_no_whole_cldr_data(
    settings: Settings, petition: Petition, tmp_path: Path
) -> None:
    # In a fresh process, as a worker: the pages in English and Arabic, then what Babel
    # had to load whole (nothing: no entry missed, no global data).
    production = dataclasses.replace(
        settings, env="production", secret_key="s" * 40, mail_url="smtp://127.0.0.1:25",
        testing=False,
    )  # fmt: skip
    paths = [
        f"/p/{petition.slug}", f"/p/{petition.slug}?lang=ar", f"/p/{petition.slug}/countries",
        f"/p/{petition.slug}/countries?lang=ar", f"/p/{petition.slug}/count?lang=ar",
        f"/embed/{petition.slug}?lang=ar", f"/api/v1/petitions/{petition.slug}", "/",
        "/?lang=ar",
    ]  # fmt: skip
    script = (
        "import json, sys\n"
        "import babel.core\n"
        "from petition import cldr, create_app\n"
        "from petition.config import Settings\n"
        f"app = create_app(Settings(**json.loads({json.dumps(dataclasses.asdict(production))!r})))\n"
        "client = app.test_client()\n"
        f"statuses = [client.get(p, base_url='https://localhost').status_code for p in {paths!r}]\n"
        "print(json.dumps({'statuses': statuses, 'missed': sorted(cldr.missed()),\n"
        "    'global': babel.core._global_data is not None}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert seen == {"statuses": [200] * len(paths), "missed": [], "global": False}
