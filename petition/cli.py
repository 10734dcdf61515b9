"""``flask --app wsgi petition …``: the operator's commands."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from petition.db import session_scope
from petition.mail import worker as mail_worker
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import service as signing

petition_group = AppGroup("petition", help="Run and manage the petition service.")


@petition_group.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--draft", is_flag=True, help="Create new petitions as drafts instead of opening them."
)
def import_command(files: tuple[Path, ...], draft: bool) -> None:
    """Create or update petitions from Markdown files with front matter."""
    for path in files:
        try:
            source = petitions.parse_petition_file(path)
        except petitions.PetitionFileError as exc:
            raise click.ClickException(str(exc)) from exc
        with session_scope() as session:
            petition = petitions.publish(session, source=source, open_now=not draft)
            version = petition.current_version
            number = version.number if version else 0
            click.echo(f"{petition.slug}: {petition.status}, text version {number}")


@petition_group.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, fold the counts, then exit.")
def worker_command(once: bool) -> None:
    """Send queued mail (with retries) and fold verified signatures into counts."""
    mail_worker.run(current_app._get_current_object(), once=once)  # type: ignore[attr-defined]


@petition_group.command("recount")
@click.argument("slugs", nargs=-1)
def recount_command(slugs: tuple[str, ...]) -> None:
    """Recompute verified counts exactly (all petitions, or the given ones)."""
    with session_scope() as session:
        query = sa.select(Petition).order_by(Petition.id)
        if slugs:
            query = query.where(Petition.slug.in_(slugs))
        found = session.scalars(query).all()
        missing = set(slugs) - {p.slug for p in found}
        if missing:
            raise click.ClickException(f"no petition {', '.join(sorted(missing))}")
        for petition in found:
            count = signing.recount(session, petition=petition)
            click.echo(f"{petition.slug}: {count}")
