"""Publishing petitions and reading them for pages and the API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from petition import i18n
from petition.db import utcnow
from petition.i18n import N_, ServiceError, label
from petition.petitions import markdown, rules
from petition.petitions.models import (
    Petition,
    PetitionCountryCount,
    PetitionStatus,
    PetitionTranslation,
    PetitionVersion,
)

logger = logging.getLogger(__name__)


class PetitionFileError(ServiceError, ValueError):
    """A petition file lacks a required field or is malformed."""

    messages: ClassVar[Mapping[str, str]] = {
        "unreadable": N_("%(file)s: cannot be read (%(detail)s)."),
        "too-large": N_("%(file)s: the file is too large."),
        "front-matter-lacks": N_("%(file)s: front matter lacks %(fields)s."),
        "goal-not-whole": N_("%(file)s: goal must be a whole number."),
        # The rules' own messages (petition.petitions.rules), already in the reader's language.
        "breaks-rules": N_("%(file)s: %(detail)s"),
        "closes-not-date": N_("%(file)s: closes must be a date (YYYY-MM-DD)."),
        "no-text": N_("%(file)s: the petition has no text."),
        "translates-not-number": N_(
            "%(file)s: translates must be the number of the text version translated (1, 2, …)."
        ),
        "no-such-petition": N_("No petition %(slug)s: import the petition first."),
        "same-language": N_(
            "%(slug)s is written in %(language)s: a translation needs another language."
        ),
        "no-such-version": N_("%(slug)s has no text version %(version)s."),
    }


class InvalidTransition(ServiceError, ValueError):
    """A petition cannot move from its status to the one asked for."""

    messages: ClassVar[Mapping[str, str]] = {
        "not-allowed": N_("A petition that is %(status)s cannot become %(to)s."),
        "no-text": N_("The petition has no text."),
        "closing-date-passed": N_("The closing date has passed."),
    }

    def translated(self) -> str:
        # The statuses in the reader's words too, not only the sentence around them.
        shown = {
            key: label(value, "petition_status") if key in ("status", "to") else value
            for key, value in self.params.items()
        }
        if self.code == "not-allowed":
            return str(gettext(self.messages[self.code], **shown))
        return super().translated()


# The one place that says how a petition's status may move. A closed petition may
# reopen (say, its closing date was extended) until it is delivered; a delivered
# one is finished. Only an open petition takes signatures (Petition.is_open).
TRANSITIONS: dict[PetitionStatus, frozenset[PetitionStatus]] = {
    PetitionStatus.DRAFT: frozenset({PetitionStatus.OPEN}),
    PetitionStatus.OPEN: frozenset({PetitionStatus.CLOSED}),
    PetitionStatus.CLOSED: frozenset({PetitionStatus.OPEN, PetitionStatus.DELIVERED}),
    PetitionStatus.DELIVERED: frozenset(),
}


@dataclasses.dataclass(frozen=True)
class PetitionSource:
    slug: str
    title: str
    body: str
    language: str = "en"
    addressed_to: str = ""
    goal: int | None = None
    closes_at: dt.datetime | None = None


def parse_petition_file(path: Path) -> PetitionSource:
    """Read a Markdown file with front matter. Raises :class:`PetitionFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PetitionFileError("unreadable", file=str(path), detail=str(exc)) from exc
    return parse_petition_text(text, name=str(path))


def parse_petition_text(text: str, *, name: str) -> PetitionSource:
    """Read Markdown with front matter (a file's or an upload's content).

    ``name`` prefixes error messages. Raises :class:`PetitionFileError`.
    """
    # python-frontmatter and PyYAML (about 1 MB): only importing or uploading a petition reads one.
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PetitionFileError("unreadable", file=name, detail=str(exc)) from exc
    meta = post.metadata
    missing = [key for key in ("title", "slug") if not str(meta.get(key) or "").strip()]
    if missing:
        raise PetitionFileError("front-matter-lacks", file=name, fields=", ".join(missing))
    goal = meta.get("goal")
    # Its range is a rule (petition.petitions.rules); here only what YAML gave.
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, int)):
        raise PetitionFileError("goal-not-whole", file=name)
    closes = meta.get("closes")
    closes_at: dt.datetime | None = None
    if isinstance(closes, dt.datetime):
        closes_at = closes if closes.tzinfo else closes.replace(tzinfo=dt.UTC)
    elif isinstance(closes, dt.date):
        closes_at = dt.datetime.combine(closes, dt.time(), tzinfo=dt.UTC)
    elif closes is not None:
        raise PetitionFileError("closes-not-date", file=name)
    if not post.content.strip():
        raise PetitionFileError("no-text", file=name)
    source = PetitionSource(
        slug=str(meta["slug"]).strip(),
        title=str(meta["title"]).strip(),
        body=post.content.strip() + "\n",
        language=str(meta.get("lang") or "en").strip(),
        addressed_to=str(meta.get("addressed_to") or "").strip(),
        goal=goal,
        closes_at=closes_at,
    )
    try:
        rules.check_petition(source)
    except rules.InvalidPetition as exc:
        raise PetitionFileError("breaks-rules", file=name, detail=str(exc)) from exc
    return source


@dataclasses.dataclass(frozen=True)
class TranslationSource:
    """A translation of one version of a petition's text, read from a file."""

    slug: str
    language: str
    version_number: int
    title: str
    body: str
    addressed_to: str = ""


def parse_file(path: Path) -> PetitionSource | TranslationSource:
    """A petition file, or a translation file when its front matter has ``translates``.

    Raises :class:`PetitionFileError`.
    """
    import frontmatter  # see parse_petition_text

    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PetitionFileError("unreadable", file=str(path), detail=str(exc)) from exc
    meta = post.metadata
    if "translates" not in meta:
        return parse_petition_file(path)
    missing = [key for key in ("title", "slug", "lang") if not str(meta.get(key) or "").strip()]
    if missing:
        raise PetitionFileError("front-matter-lacks", file=str(path), fields=", ".join(missing))
    number = meta["translates"]
    # bool is an int in Python; "translates: yes" is a mistake, not version 1.
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise PetitionFileError("translates-not-number", file=str(path))
    source = TranslationSource(
        slug=str(meta["slug"]).strip(),
        language=str(meta["lang"]).strip(),
        version_number=number,
        title=str(meta["title"]).strip(),
        body=post.content.strip() + "\n",
        addressed_to=str(meta.get("addressed_to") or "").strip(),
    )
    try:
        rules.check_translation(source)
    except rules.InvalidPetition as exc:
        raise PetitionFileError("breaks-rules", file=str(path), detail=str(exc)) from exc
    return source


def version_hashes(conn: Session | sa.Connection, *, petition_id: int) -> dict[int, str]:
    """Text version id → its SHA-256, for the petition's versions (a signature names its
    version by id; exports show the text by its hash)."""
    rows = conn.execute(
        sa.select(PetitionVersion.id, PetitionVersion.sha256).where(
            PetitionVersion.petition_id == petition_id
        )
    )
    return {row.id: row.sha256 for row in rows}


def text_sha256(body: str) -> str:
    """The fingerprint of a version: SHA-256 of the exact UTF-8 bytes of its text."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# The one place where petitions reads signatures, through the bare table: the signing
# domain sits above petitions (it imports petitions, never the reverse), and a text
# edit must know whether anyone signed the version it would change.
_SIGNATURES = sa.table("signatures", sa.column("version_id"))


def is_signed(session: Session, *, version_id: int) -> bool:
    """Whether anyone signed this version of a text (then it never changes again)."""
    return bool(
        session.scalar(sa.select(sa.exists().where(_SIGNATURES.c.version_id == version_id)))
    )


def publish(session: Session, *, source: PetitionSource, open_now: bool = True) -> Petition:
    """Create the petition or update it from ``source``.

    A changed text becomes a new version once anyone has signed the current one;
    until then the current version is corrected in place. Raises
    :class:`~petition.petitions.rules.InvalidPetition` when ``source`` breaks a rule
    (every caller checked it first; this is the gate none can go around).
    """
    rules.check_petition(source)
    petition = session.scalars(
        sa.select(Petition).where(Petition.slug == source.slug).with_for_update(of=Petition)
    ).one_or_none()
    if petition is None:
        petition = Petition(slug=source.slug, title=source.title, status=PetitionStatus.DRAFT)
        session.add(petition)
        session.flush()
        logger.info("created petition %s", source.slug)
    petition.title = source.title
    petition.addressed_to = source.addressed_to
    petition.language = source.language
    petition.goal = source.goal
    petition.closes_at = source.closes_at
    _set_text(session, petition, title=source.title, body=source.body)
    if open_now and petition.status == PetitionStatus.DRAFT:
        change_status(session, petition=petition, to=PetitionStatus.OPEN)
    session.flush()
    return petition


def check_transition(petition: Petition, to: PetitionStatus) -> None:
    """Raises :class:`InvalidTransition` unless :data:`TRANSITIONS` allows the move."""
    if to not in TRANSITIONS[petition.status]:
        raise InvalidTransition("not-allowed", status=petition.status, to=to)


def change_status(session: Session, *, petition: Petition, to: PetitionStatus) -> Petition:
    """Move ``petition`` to status ``to`` as :data:`TRANSITIONS` allows.

    Raises :class:`InvalidTransition` otherwise, and when opening a petition
    without text or whose closing date has passed (it would take no signature).
    """
    check_transition(petition, to)
    if to == PetitionStatus.OPEN:
        if petition.current_version is None:
            raise InvalidTransition("no-text")
        if petition.closes_at is not None and petition.closes_at <= utcnow():
            raise InvalidTransition("closing-date-passed")
        petition.opened_at = petition.opened_at or utcnow()
    petition.status = to
    session.flush()
    logger.info("petition %s is now %s", petition.slug, to)
    return petition


def _set_text(session: Session, petition: Petition, *, title: str, body: str) -> None:
    digest = text_sha256(body)
    current = petition.current_version
    if current is not None and current.sha256 == digest and current.title == title:
        return
    has_signatures = current is not None and is_signed(session, version_id=current.id)
    if current is not None and not has_signatures:
        # Nobody has seen this text as the thing they signed: correct it in place.
        current.title = title
        current.body_markdown = body
        current.body_html = markdown.render(body)
        current.sha256 = digest
        return
    number = (current.number + 1) if current is not None else 1
    version = PetitionVersion(
        petition_id=petition.id,
        number=number,
        title=title,
        body_markdown=body,
        body_html=markdown.render(body),
        sha256=digest,
    )
    session.add(version)
    session.flush()
    petition.current_version = version
    logger.info("petition %s now at version %d", petition.slug, number)


def add_translation(session: Session, *, source: TranslationSource) -> PetitionTranslation:
    """Store (or correct) the translation of one version of a petition's text.

    Raises :class:`PetitionFileError` when the petition or the version does not
    exist, or the language is the petition's own.
    """
    try:
        rules.check_translation(source)
    except rules.InvalidPetition as exc:
        raise PetitionFileError("breaks-rules", file=source.slug, detail=str(exc)) from exc
    petition = find(session, source.slug)
    if petition is None:
        raise PetitionFileError("no-such-petition", slug=source.slug)
    if source.language == petition.language:
        raise PetitionFileError("same-language", slug=source.slug, language=source.language)
    version = session.scalars(
        sa.select(PetitionVersion).where(
            PetitionVersion.petition_id == petition.id,
            PetitionVersion.number == source.version_number,
        )
    ).one_or_none()
    if version is None:
        raise PetitionFileError("no-such-version", slug=source.slug, version=source.version_number)
    translation = session.scalars(
        sa.select(PetitionTranslation).where(
            PetitionTranslation.version_id == version.id,
            PetitionTranslation.language == source.language,
        )
    ).one_or_none()
    if translation is None:
        translation = PetitionTranslation(version_id=version.id, language=source.language)
        session.add(translation)
    translation.title = source.title
    translation.addressed_to = source.addressed_to
    translation.body_markdown = source.body
    translation.body_html = markdown.render(source.body)
    translation.sha256 = text_sha256(source.body)
    # What the translator worked from: if the version is corrected later (possible
    # while nobody has signed it), this translation stops being shown.
    translation.source_sha256 = version.sha256
    session.flush()
    logger.info(
        "petition %s version %d translated to %s", source.slug, version.number, source.language
    )
    return translation


def translation_for(
    session: Session, *, version: PetitionVersion, language: str
) -> PetitionTranslation | None:
    """The translation of exactly this text of ``version`` into ``language``, if any."""
    return session.scalars(
        sa.select(PetitionTranslation).where(
            PetitionTranslation.version_id == version.id,
            PetitionTranslation.language == language,
            PetitionTranslation.source_sha256 == version.sha256,
        )
    ).one_or_none()


def title_in(session: Session, petition: Petition, language: str) -> str:
    """The petition's title in ``language`` when its current text is translated, else its own."""
    if language == petition.language or petition.current_version is None:
        return petition.title
    translation = translation_for(session, version=petition.current_version, language=language)
    return translation.title if translation else petition.title


# Built once: every public page, API read and signature looks a petition up by slug.
_BY_SLUG = sa.select(Petition).where(
    Petition.slug == sa.bindparam("slug"), Petition.status != PetitionStatus.DRAFT
)


def get_by_slug(session: Session, slug: str) -> Petition | None:
    """The petition at ``slug``, unless it is still a draft (drafts are not public)."""
    return session.scalars(_BY_SLUG, {"slug": slug}).one_or_none()


def find(session: Session, slug: str) -> Petition | None:
    """The petition at ``slug`` in any status, drafts included: what an organizer (in
    /admin, after its access check) or an operator (every command) may mean. Public
    pages use :func:`get_by_slug`, which hides drafts."""
    return session.scalars(sa.select(Petition).where(Petition.slug == slug)).one_or_none()


def list_all(session: Session) -> list[Petition]:
    """Every petition, drafts included, oldest first."""
    return list(session.scalars(sa.select(Petition).order_by(Petition.id)))


def list_open(session: Session) -> list[Petition]:
    return list(
        session.scalars(
            sa.select(Petition)
            .where(Petition.status == PetitionStatus.OPEN)
            .order_by(Petition.signature_count.desc(), Petition.id)
        )
    )


def page_context(
    session: Session, petition: Petition, *, reader: str = "en", show_original: bool = False
) -> dict[str, Any]:
    """What the petition page shows of the petition itself (its text in the reader's
    language); the signing domain adds the form and the public signers.

        The text is shown in the ``reader``'s language when a translation of the
        current version exists, unless ``show_original``; the form always signs the
        version itself.
    """
    version = petition.current_version
    translation = None
    if version is not None and reader != petition.language:
        translation = translation_for(session, version=version, language=reader)
    shown = None if show_original else translation
    language = shown.language if shown else petition.language
    return {
        "petition": petition,
        "version": version,
        # A few folded rows (petition_country_counts), largest first.
        "countries": country_counts(session, petition),
        "translation": translation,
        "shown_translation": shown,
        "text_title": shown.title if shown else petition.title,
        "addressed_to": (shown.addressed_to if shown else "") or petition.addressed_to,
        "text_html": shown.body_html if shown else (version.body_html if version else ""),
        "text_language": language,
        "text_dir": i18n.direction(language),
        "original_language_name": i18n.language_name(petition.language, reader),
    }


def list_public(session: Session) -> list[Petition]:
    """Every petition that is not a draft, newest first (the API's list)."""
    return list(
        session.scalars(
            sa.select(Petition)
            .where(Petition.status != PetitionStatus.DRAFT)
            .order_by(Petition.opened_at.desc(), Petition.id.desc())
        )
    )


def country_counts(session: Session, petition: Petition) -> list[dict[str, Any]]:
    """Verified signatures per country (ISO 3166-1 alpha-2), largest first.

    Reads the counts the worker folds in, a few rows per petition, never the signatures.
    """
    rows = session.execute(
        sa.select(PetitionCountryCount.country, PetitionCountryCount.signature_count)
        .where(
            PetitionCountryCount.petition_id == petition.id,
            PetitionCountryCount.signature_count > 0,
        )
        .order_by(PetitionCountryCount.signature_count.desc(), PetitionCountryCount.country)
    )
    return [{"country": country, "signature_count": count} for country, count in rows]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def summary(petition: Petition, *, signing_key_fingerprint: str | None = None) -> dict[str, Any]:
    """The public description of a petition shared by the API, widget and exports.

    ``signature_count`` is the verified count as last folded by the worker, the
    same figure on the page, in the widget, in the API and in an export.
    """
    version = petition.current_version
    return {
        "slug": petition.slug,
        "title": petition.title,
        "addressed_to": petition.addressed_to,
        "language": petition.language,
        "status": str(petition.status),
        "is_open": petition.is_open,
        "signature_count": petition.signature_count,
        "goal": petition.goal,
        "opened_at": _iso(petition.opened_at),
        "closes_at": _iso(petition.closes_at),
        "updated_at": petition.updated_at.isoformat(),
        "text_version": version.number if version is not None else None,
        "text_sha256": version.sha256 if version is not None else None,
        # Of the key that signs export batches (petition.export.batch_key), given by the
        # caller: a petition does not know the service's key. None without a key.
        "signing_key_fingerprint": signing_key_fingerprint,
    }
