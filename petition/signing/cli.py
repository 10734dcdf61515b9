"""``flask petition recount``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from petition.db import session_scope
from petition.petitions import service as petitions
from petition.signing import counts


@click.command("recount")
@click.argument("slugs", nargs=-1)
@with_appcontext
def recount_command(slugs: tuple[str, ...]) -> None:
    """Recompute verified counts and daily figures exactly (all petitions, or the given ones)."""
    with session_scope() as session:
        if slugs:
            found = {p.id: p for p in (petitions.find(session, slug) for slug in slugs) if p}
            missing = set(slugs) - {p.slug for p in found.values()}
            if missing:
                raise click.ClickException(f"no petition {', '.join(sorted(missing))}")
            chosen = [found[key] for key in sorted(found)]
        else:
            chosen = petitions.list_all(session)
        for petition in chosen:
            count = counts.recount(session, petition=petition)
            click.echo(f"{petition.slug}: {count}")


COMMANDS: tuple[click.Command, ...] = (recount_command,)
