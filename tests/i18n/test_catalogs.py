"""The catalogs hold every marked string, Arabic translates all of them, and no
template shows text that is not marked for translation.

When a test here fails after adding strings: ``make translations``, translate the
new entries in ``translations/ar/LC_MESSAGES/messages.po``, then ``make install``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from jinja2 import Environment

from petition.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
# The same keywords as BABEL_KEYWORDS in the Makefile.
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-k", "lazy_pgettext:1c,2"]
SOURCE_LANGUAGE = "en"
LANGUAGES = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
HOW_TO_FIX = "run `make translations`, translate the new entries, then `make install`"


def _read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _ids(catalog: Catalog) -> set[str]:
    return {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What `pybabel extract` finds in the code and templates now."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         *KEYWORDS, "--no-location", "-o", str(out), "."],
        cwd=PROJECT_ROOT,
        check=True,
    )  # fmt: skip
    return _read(out)


def test_both_languages_have_a_catalog() -> None:
    assert {"en", "ar"} <= set(LANGUAGES)


def test_template_holds_every_marked_string(extracted: Catalog) -> None:
    in_pot = _ids(_read(POT))
    missing = _ids(extracted) - in_pot
    stale = in_pot - _ids(extracted)
    assert not missing, f"strings not in {POT.name} ({HOW_TO_FIX}): {sorted(missing)}"
    assert not stale, f"strings no longer used still in {POT.name} ({HOW_TO_FIX}): {sorted(stale)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_matches_the_template(language: str) -> None:
    po = _read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    assert _ids(po) == _ids(_read(POT)), f"{language} catalog out of date: {HOW_TO_FIX}"


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_every_string_is_translated(language: str) -> None:
    po = _read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    problems = []
    for message in po:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if message.fuzzy or not all(forms):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        allowed = set().union(*(_PLACEHOLDER.findall(i) for i in ids))
        for form in forms:
            unknown = set(_PLACEHOLDER.findall(form)) - allowed
            if unknown:
                problems.append(f"unknown placeholder {unknown} in {form!r}")
    assert not problems, f"{language}: " + "\n".join(problems)


# --- templates -------------------------------------------------------------------

# Attributes people read or hear; their literal text must be marked too.
READ_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "content", "label"}
LETTER = re.compile(r"[^\W\d_]")
READ_META = {"description", "og:title", "og:description", "og:image:alt"}
READ_META |= {"twitter:title", "twitter:description"}
MARK = "\x00"
# Names that read the same in every language (algorithms, formats): not text to translate.
TERMS = re.compile(r"\b(?:SHA-256|Ed25519|UTC|ZIP|CSV|PDF)\b")


def _shown(text: str) -> str:
    return re.sub(f"{MARK}+", "…", text)


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and LETTER.search(value.replace(MARK, "")):
                # Most <meta content> is for machines (width=device-width, website…).
                described = dict(attrs).get("name") or dict(attrs).get("property")
                if tag == "meta" and described not in READ_META:
                    continue
                self.found.append(f'<{tag} {name}="{_shown(value)}">')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        text = TERMS.sub("", data.replace(MARK, ""))
        if not self._skip and LETTER.search(text):
            self.found.append(_shown(data.strip()))


def unmarked_text(source: str, *, is_html: bool = True) -> list[str]:
    """Literal text of a template that people would see, outside any ``{{ … }}``."""
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    # {{ expressions }} become a mark (something is shown there); {% tags %} and
    # {# comments #} vanish, so that a tag inside an HTML tag leaves it whole.
    literal = []
    for _line, kind, value in env.lex(source):
        if kind == "data":
            literal.append(value)
        elif kind == "variable_begin":
            literal.append(MARK)
    text = "".join(literal)
    if not is_html:
        return [
            _shown(line.strip())
            for line in text.splitlines()
            if LETTER.search(line.replace(MARK, ""))
        ]
    finder = _TextFinder()
    finder.feed(text)
    finder.close()
    return finder.found


TEMPLATES = sorted(
    p
    for p in (PROJECT_ROOT / "templates").rglob("*")
    if p.suffix in (".html", ".txt") and p.is_file()
)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_template_text_is_marked_for_translation(path: Path) -> None:
    found = unmarked_text(path.read_text(encoding="utf-8"), is_html=path.suffix == ".html")
    assert not found, f"wrap in {{{{ _('…') }}}}: {found}"


def test_the_scanner_finds_unmarked_text_and_attributes() -> None:
    assert unmarked_text("<p>Hello {{ name }}</p>") == ["Hello …"]
    assert unmarked_text('<img alt="A map" src="x">') == ['<img alt="A map">']
    assert unmarked_text("<p>{{ _('Hello') }}</p><p>{{ count }} / {{ goal }}</p>") == []
    assert unmarked_text('<meta name="viewport" content="width=device-width">') == []
    assert unmarked_text('<meta name="description" content="Sign it">') == [
        '<meta content="Sign it">'
    ]
    assert unmarked_text("{# a comment #}<style>p{}</style>") == []
    assert unmarked_text('<h1{% if x %} lang="{{ x }}"{% endif %}>{{ t }}</h1>') == []
    assert unmarked_text("<p>{% if x %}Oops{% endif %}</p>") == ["Oops"]
    assert unmarked_text("<p>SHA-256 {{ digest }}</p>") == []
    assert unmarked_text("Dear {{ name }},\n{{ _('Thanks') }}", is_html=False) == ["Dear …,"]
