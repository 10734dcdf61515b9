"""``flask petition import``, and the one way every command finds a petition."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from petition.db import session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition


def petition_or_fail(session: Session, slug: str) -> Petition:
    """The petition a command means by ``slug``, in any status.

    The one rule for every command: drafts are found too. The operator on the server
    may mean any petition, and a draft is one being prepared (its keys, embedding,
    accounts and flags can be looked at or set before it opens). Raises
    :class:`click.ClickException` ("no petition SLUG") when there is none.
    """
    found = petitions.find(session, slug)
    if found is None:
        raise click.ClickException(f"no petition {slug}")
    return found


@click.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--draft", is_flag=True, help="Create new petitions as drafts instead of opening them."
)
@with_appcontext
def import_command(files: tuple[Path, ...], draft: bool) -> None:
    """Create or update petitions, or their translations, from Markdown files.

    A file whose front matter has ``translates: N`` is a translation of text
    version N of the petition ``slug``, in the language ``lang``. Petitions are
    imported before translations, whatever the order of the files.
    """
    try:
        sources = [petitions.parse_file(path) for path in files]
    except petitions.PetitionFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for source in sources:
        if isinstance(source, petitions.PetitionSource):
            with session_scope() as session:
                petition = petitions.publish(session, source=source, open_now=not draft)
                version = petition.current_version
                number = version.number if version else 0
                click.echo(f"{petition.slug}: {petition.status}, text version {number}")
    for source in sources:
        if isinstance(source, petitions.TranslationSource):
            try:
                with session_scope() as session:
                    petitions.add_translation(session, source=source)
            except petitions.PetitionFileError as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(
                f"{source.slug}: text version {source.version_number} "
                f"translated to {source.language}"
            )


COMMANDS: tuple[click.Command, ...] = (import_command,)
