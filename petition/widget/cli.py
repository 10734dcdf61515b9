"""``flask petition allow-embed``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from petition.audit.service import cli_actor
from petition.db import session_scope
from petition.petitions.cli import petition_or_fail
from petition.widget import service as widget


@click.command("allow-embed")
@click.argument("slug")
@click.argument("origins", nargs=-1)
@click.option("--any", "any_site", is_flag=True, help="Let any site embed the widget (default).")
@click.option("--none", "no_site", is_flag=True, help="Let no site embed the widget.")
@with_appcontext
def allow_embed_command(slug: str, origins: tuple[str, ...], any_site: bool, no_site: bool) -> None:
    """Set which sites may frame a petition's widget, e.g. https://campaign.example."""
    if sum([bool(origins), any_site, no_site]) != 1:
        raise click.UsageError("give ORIGINS, or --any, or --none")
    with session_scope() as session:
        petition = petition_or_fail(session, slug)
        try:
            allowed = widget.set_embed_origins(
                session,
                petition=petition,
                origins=None if any_site else origins,
                actor=cli_actor(),
            )
        except widget.InvalidOrigin as exc:
            raise click.ClickException(str(exc)) from exc
        if allowed is None:
            click.echo(f"{slug}: any site may embed the widget")
        elif not allowed:
            click.echo(f"{slug}: no site may embed the widget")
        else:
            click.echo(f"{slug}: only {' '.join(allowed)} may embed the widget")


COMMANDS: tuple[click.Command, ...] = (allow_embed_command,)
