"""What a petition may hold, the one set of rules for every way one is made.

The /admin form, an import in /admin and ``petition import`` all check a
:class:`~petition.petitions.service.PetitionSource` here, and
:func:`~petition.petitions.service.publish` checks again, so no path can skip them.
An import once made slugs ``admin`` and ``..``, a 50,000-character title for a
200-character column, ``lang: zz-<b>``, and a title holding ``\\nBcc: …`` that a
mail subject would have carried into a header.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any, Protocol, cast

import sqlalchemy as sa
from flask import has_request_context
from flask_babel import gettext

from petition.i18n import LANGUAGES
from petition.petitions.models import Petition, PetitionTranslation

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Paths the public site uses for itself; a petition there would be unreachable.
RESERVED_SLUGS = frozenset({"admin", "api", "embed", "static", "dev", "new", "import"})
BODY_MAX = 50_000
GOAL_MAX = 1_000_000_000
# A line of text (title, addressee) holds no control character, no line or paragraph
# separator: any of them could end a mail header that carries the line.
_NOT_IN_A_LINE = {"Cc", "Zl", "Zp"}
# Markdown keeps its line breaks and tabs; no other control character (NUL, which
# PostgreSQL refuses in text, ESC, …) belongs in a text.
_TEXT_CONTROLS_ALLOWED = {"\n", "\r", "\t"}


def _length(column: Any) -> int:
    return int(cast(sa.String, column.type).length or 0)


# The columns' own sizes, so a rule and its column cannot drift apart.
SLUG_MAX = _length(Petition.__table__.c.slug)
TITLE_MAX = _length(Petition.__table__.c.title)
ADDRESSED_TO_MAX = _length(Petition.__table__.c.addressed_to)
TRANSLATION_TITLE_MAX = _length(PetitionTranslation.__table__.c.title)


def _(text: str, **values: Any) -> str:
    """The message in the reader's language; in English for a command (no request)."""
    if has_request_context():
        return str(gettext(text, **values))
    return str(text % values) if values else text


class InvalidPetition(ValueError):
    """A petition (or a translation) breaks a rule; ``problems`` names each field's."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(
                f"{field}: {message}" for field, found in problems.items() for message in found
            )
        )


def slug_problem(value: str) -> str | None:
    if not value:
        return _("This field is required.")
    if len(value) > SLUG_MAX:
        return _("At most %(max)d characters.", max=SLUG_MAX)
    if not SLUG.match(value):
        return _("Use lower-case letters, digits and single hyphens only.")
    if value in RESERVED_SLUGS:
        return _("This web address is reserved.")
    return None


def line_problem(value: str, *, max_length: int, required: bool = False) -> str | None:
    """A title or an addressee: one line of at most ``max_length`` characters."""
    if required and not value.strip():
        return _("This field is required.")
    if len(value) > max_length:
        return _("At most %(max)d characters.", max=max_length)
    if any(unicodedata.category(ch) in _NOT_IN_A_LINE for ch in value):
        return _("One line, without control characters.")
    return None


def body_problem(value: str) -> str | None:
    if not value.strip():
        return _("This field is required.")
    if len(value) > BODY_MAX:
        return _("At most %(max)d characters.", max=BODY_MAX)
    if any(unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS_ALLOWED for ch in value):
        return _("The text holds control characters.")
    return None


def language_problem(value: str) -> str | None:
    if value not in LANGUAGES:
        return _("Not a language of this site (%(codes)s).", codes=", ".join(LANGUAGES))
    return None


def goal_problem(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= GOAL_MAX:
        return _("A whole number from 1 to %(max)d.", max=GOAL_MAX)
    return None


class _Translation(Protocol):
    @property
    def slug(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def body(self) -> str: ...

    @property
    def language(self) -> str: ...

    @property
    def addressed_to(self) -> str: ...


class _Petition(_Translation, Protocol):
    @property
    def goal(self) -> int | None: ...


def _found(checks: dict[str, str | None]) -> Iterator[tuple[str, str]]:
    for field, message in checks.items():
        if message is not None:
            yield field, message


def check_petition(source: _Petition) -> None:
    """Raises :class:`InvalidPetition` naming every field that breaks a rule."""
    problems = dict(
        _found(
            {
                "slug": slug_problem(source.slug),
                "title": line_problem(source.title, max_length=TITLE_MAX, required=True),
                "addressed_to": line_problem(source.addressed_to, max_length=ADDRESSED_TO_MAX),
                "language": language_problem(source.language),
                "body": body_problem(source.body),
                "goal": goal_problem(source.goal),
            }
        )
    )
    if problems:
        raise InvalidPetition({field: [message] for field, message in problems.items()})


def check_translation(source: _Translation) -> None:
    """The same rules for a translation's fields. Raises :class:`InvalidPetition`."""
    problems = dict(
        _found(
            {
                "slug": slug_problem(source.slug),
                "title": line_problem(
                    source.title, max_length=TRANSLATION_TITLE_MAX, required=True
                ),
                "addressed_to": line_problem(source.addressed_to, max_length=ADDRESSED_TO_MAX),
                "language": language_problem(source.language),
                "body": body_problem(source.body),
            }
        )
    )
    if problems:
        raise InvalidPetition({field: [message] for field, message in problems.items()})
