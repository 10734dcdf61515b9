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
KEYWORDS += ["-k", "Np_:1,2"]
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


# --- words that come from the code: enum values and service errors ----------------

ENUM_ATTRIBUTE = re.compile(r"(?<![\w.])((?:\w+\.)+(\w+))(?!\w)")


def _enum_columns() -> dict[str, set[type]]:
    """Attribute name → the StrEnums stored in columns of that name (status, source, role…)."""
    import sqlalchemy as sa

    from petition.db import Base

    _import_everything()
    found: dict[str, set[type]] = {}
    for mapper in Base.registry.mappers:
        for attr in mapper.column_attrs:
            for column in attr.columns:
                if isinstance(column.type, sa.Enum) and column.type.enum_class is not None:
                    found.setdefault(attr.key, set()).add(column.type.enum_class)
    return found


def _import_everything() -> list[str]:
    import importlib
    import pkgutil

    import petition

    names = [m.name for m in pkgutil.walk_packages(petition.__path__, "petition.")]
    for name in names:
        importlib.import_module(name)
    return names


def unlabelled_enums(source: str, attributes: set[str]) -> list[str]:
    """``{{ x.status }}`` shown as text without ``|label(…)``: the stored English value.

    Inside an HTML tag (``class="status-{{ p.status }}"``) a value is for machines;
    compared (``==``, ``!=``, ``in``) or passed on (``url_for(…, status=…)``) it is not shown.
    """
    found = []
    for match in re.finditer(r"\{\{(.*?)\}\}", source, flags=re.S):
        before = source[: match.start()]
        if before.rfind("<") > before.rfind(">"):
            continue  # inside a tag: an attribute value
        expression = match.group(1)
        for attribute in ENUM_ATTRIBUTE.finditer(expression):
            if attribute.group(2) not in attributes:
                continue
            rest = expression[attribute.end() :].lstrip()
            ahead = expression[: attribute.start()].rstrip()
            if rest.startswith(("|label", "==", "!=", "in ", "not in ")) or ahead.endswith(
                ("=", "(", ",")
            ):
                continue
            found.append(attribute.group(1))
    return found


def test_the_enum_scanner_finds_raw_values() -> None:
    attributes = {"status", "source"}
    assert unlabelled_enums("<td>{{ p.status }}</td>", attributes) == ["p.status"]
    assert unlabelled_enums("<dd>{{ row.source }}</dd>", attributes) == ["row.source"]
    assert unlabelled_enums('<td>{{ p.status|label("petition_status") }}</td>', attributes) == []
    assert unlabelled_enums('<b class="s-{{ p.status }}">', attributes) == []
    assert unlabelled_enums('{{ _("A") if p.status == "draft" else _("B") }}', attributes) == []
    assert unlabelled_enums('{{ _("Now %(s)s", s=p.status) }}', attributes) == []
    assert unlabelled_enums("<td>{{ p.title }}</td>", attributes) == []
    assert unlabelled_enums("{{ field(form.source) }}", attributes) == []


def test_every_enum_column_shown_in_a_template_is_labelled() -> None:
    # A label kind that is not registered fails where it is used (i18n.label: KeyError).
    columns = _enum_columns()
    assert {"status", "source", "role"} <= set(columns)
    problems = []
    for path in TEMPLATES:
        for raw in unlabelled_enums(path.read_text(encoding="utf-8"), set(columns)):
            problems.append(f"{path.relative_to(PROJECT_ROOT)}: {{{{ {raw} }}}} needs |label(…)")
    assert not problems, "\n".join(problems)


def _catalog_strings(language: str) -> dict[tuple[str | None, str], object]:
    po = _read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m.string for m in po if m.id}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_every_label_and_service_error_is_translated(language: str) -> None:
    from flask import Flask
    from flask_babel import Babel

    from petition import i18n
    from petition.config import TRANSLATIONS as CATALOGS

    _import_everything()
    strings = _catalog_strings(language)
    problems = []

    def check(context: str | None, message: str, where: str) -> None:
        translated = strings.get((context, message))
        forms = translated if isinstance(translated, tuple) else (translated,)
        if not all(forms):
            problems.append(f"{where}: {message!r} is not translated ({HOW_TO_FIX})")

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    errors = subclasses(i18n.ServiceError)
    assert errors, "no service error found: the walk over petition/ broke"
    for error in errors:
        for code, message in error.__dict__.get("messages", {}).items():
            check(None, message, f"{error.__name__}({code!r})")
        for code, (singular, _plural) in error.__dict__.get("plurals", {}).items():
            check(None, singular, f"{error.__name__}({code!r})")

    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(CATALOGS)
    Babel(app, locale_selector=lambda: language)
    with app.test_request_context("/"):
        for kind, members in i18n.label_kinds().items():
            for member in members:
                shown = i18n.label(member, kind)
                if shown == _english_label(kind, member):
                    problems.append(f"{kind} {member.value!r}: {shown!r} is not translated")
    assert not problems, "\n".join(problems)


def _english_label(kind: str, member: object) -> str:
    from flask import Flask
    from flask_babel import Babel

    from petition import i18n

    app = Flask(__name__)
    Babel(app, locale_selector=lambda: SOURCE_LANGUAGE)
    with app.test_request_context("/"):
        return i18n.label(member, kind)


def test_views_show_service_errors_in_the_readers_language() -> None:
    """``str(exc)`` of a service error is English (for commands and logs): a view that
    catches one shows ``exc.translated()``."""
    import ast

    from petition import i18n

    _import_everything()

    def names(cls: type) -> set[str]:
        return {n for sub in cls.__subclasses__() for n in ({sub.__name__} | names(sub))}

    errors = names(i18n.ServiceError) | {"ServiceError"}
    views = [*(PROJECT_ROOT / "petition").glob("*/views.py")]
    views += (PROJECT_ROOT / "petition" / "admin" / "views").glob("*.py")
    problems = []
    for path in views:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler) or node.type is None or not node.name:
                continue
            caught = {
                n.attr if isinstance(n, ast.Attribute) else n.id
                for n in ast.walk(node.type)
                if isinstance(n, ast.Attribute | ast.Name)
            }
            if not caught & errors:
                continue
            for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Name)
                    and inner.func.id == "str"
                    and any(isinstance(a, ast.Name) and a.id == node.name for a in inner.args)
                ):
                    problems.append(
                        f"{path.relative_to(PROJECT_ROOT)}:{inner.lineno}: str({node.name})"
                    )
    assert not problems, "show exc.translated(): " + ", ".join(problems)


def test_every_service_error_is_raised_with_one_of_its_codes() -> None:
    """``raise NothingToExport("nothing-since-batch", …)``: a code its class lists (an
    English sentence in its place would fail only when the refusal happens)."""
    import ast

    from petition import i18n

    _import_everything()

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    errors = {c.__name__: c for c in subclasses(i18n.ServiceError)}
    problems = []
    for path in (PROJECT_ROOT / "petition").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in errors or "__init__" in vars(errors[name]):
                continue  # a class with its own constructor passes its code itself
            codes = {**errors[name].messages, **errors[name].plurals}
            first = node.exc.args[0] if node.exc.args else None
            if not (isinstance(first, ast.Constant) and first.value in codes):
                where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                problems.append(f"{where}: {ast.unparse(node.exc)[:60]}")
    assert not problems, "raise with a listed code: " + ", ".join(problems)
