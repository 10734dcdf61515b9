"""``flask petition api-key create | revoke | list``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from petition.api import service as api_keys
from petition.audit.service import cli_actor
from petition.db import session_scope
from petition.petitions.cli import petition_or_fail

api_key_group = AppGroup("api-key", help="Partner keys for the signatures API.")


@api_key_group.command("create")
@click.option("--petition", "slug", required=True, help="The petition the key may sign.")
@click.option("--name", required=True, help="Who the key is for (recorded with signatures).")
def api_key_create_command(slug: str, name: str) -> None:
    """Create a partner key; it is printed once and only its hash is kept."""
    with session_scope() as session:
        petition = petition_or_fail(session, slug)
        try:
            key, secret = api_keys.create_key(
                session, petition=petition, name=name, actor=cli_actor()
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"key {key.id} for {key.name} on {slug}; shown only now, store it safely:", err=True)
    click.echo(secret)


@api_key_group.command("revoke")
@click.argument("key_id", type=int)
def api_key_revoke_command(key_id: int) -> None:
    """Revoke a partner key at once."""
    with session_scope() as session:
        try:
            key = api_keys.revoke_key(session, key_id=key_id, actor=cli_actor())
        except api_keys.KeyNotFound:
            raise click.ClickException(f"no api key {key_id}") from None
        click.echo(f"key {key.id} ({key.name}) revoked")


@api_key_group.command("list")
@click.option("--petition", "slug", help="Only this petition's keys.")
def api_key_list_command(slug: str | None) -> None:
    """List partner keys (never the keys themselves)."""
    with session_scope(write=False) as session:
        petition = petition_or_fail(session, slug) if slug else None
        for key in api_keys.list_keys(session, petition=petition):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            click.echo(f"{key.id}\t{key.petition.slug}\t{key.name}\t{state}")


COMMANDS: tuple[click.Command, ...] = (api_key_group,)
