"""``flask petition update send``: an update from Markdown files, through the same service."""

from __future__ import annotations

from gettext import ngettext as plural  # English: commands speak to the operator
from pathlib import Path

import click
from flask.cli import with_appcontext

from petition.audit.service import cli_actor
from petition.config import current_settings
from petition.db import session_scope
from petition.petitions.cli import petition_or_fail
from petition.updates import service as updates
from petition.updates.models import UpdateKind

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def read_text_file(path: Path) -> updates.TextSource:
    """An update's text: the first line ``# Subject``, then the Markdown body."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read it as UTF-8 text ({exc})") from exc
    first, _, body = text.lstrip("\ufeff").partition("\n")
    if not first.startswith("# ") or not first[2:].strip():
        raise click.ClickException(f"{path}: the first line must be the subject, as '# Subject'")
    return updates.TextSource(subject=first[2:].strip(), body=body.strip("\n") + "\n")


@click.group("update")
def update_group() -> None:
    """Updates to a petition's signers (news, or the addressee's response)."""


@update_group.command("send")
@click.argument("slug")
@click.argument("file", type=_FILE)
@click.option(
    "--lang",
    "translations",
    nargs=2,
    multiple=True,
    type=(str, _FILE),
    metavar="LANG FILE",
    help="The update in another of the petition's languages (repeatable).",
)
@click.option("--response", is_flag=True, help="The addressee's response: also on the page.")
@click.option("--reason", help="Send before PETITION_UPDATES_MIN_DAYS have passed, and why.")
@click.option("--dry-run", is_flag=True, help="Print who would receive it; send nothing.")
@with_appcontext
def send_command(
    slug: str,
    file: Path,
    translations: tuple[tuple[str, Path], ...],
    response: bool,
    reason: str | None,
    dry_run: bool,
) -> None:
    """Send FILE (first line '# Subject', then Markdown) to the signers of SLUG.

    FILE is in the petition's language; each signer gets the text in the language
    they read the petition in when one is given with --lang, else FILE's. The
    worker sends the messages (`petition worker`).
    """
    with session_scope() as session:
        petition = petition_or_fail(session, slug)
        texts = {petition.language: read_text_file(file)}
        for language, path in translations:
            texts[language] = read_text_file(path)
        source = updates.DraftSource(
            kind=UpdateKind.RESPONSE if response else UpdateKind.NEWS, texts=texts
        )
        try:
            draft = updates.save_draft(session, petition=petition, source=source, actor=cli_actor())
            count = updates.recipient_count(session, petition=petition)
            if dry_run:
                for language, n in sorted(
                    updates.recipients_by_language(session, petition=petition).items()
                ):
                    click.echo(f"  {language}: {n}")
                noun = plural("signer", "signers", count)
                click.echo(f"{count} {noun} would receive this update (dry run: nothing sent).")
                session.rollback()
                return
            updates.send(
                session,
                petition=petition,
                update=draft,
                actor=cli_actor(),
                min_days=current_settings().updates_min_days,
                override_reason=reason,
            )
        except updates.TooSoon as exc:
            raise click.ClickException(
                f"{slug} had an update on {exc.last_sent_at:%Y-%m-%d}; the next can go on "
                f"{exc.next_at:%Y-%m-%d}, or now with --reason"
            ) from exc
        except updates.UpdateError as exc:
            raise click.ClickException(str(exc)) from exc
    noun = plural("signer", "signers", count)
    click.echo(f"Update {draft.id} sent to {count} {noun}; the worker delivers it.")


COMMANDS: tuple[click.Command, ...] = (update_group,)
