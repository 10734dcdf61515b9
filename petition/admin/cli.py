"""``flask petition create-user | grant-petition | reset-login``: accounts for /admin."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from petition.admin import service as admin
from petition.admin.models import UserRole
from petition.audit.service import cli_actor
from petition.db import session_scope
from petition.petitions.cli import petition_or_fail


def _read_password() -> str:
    """From a hidden prompt at a terminal, else one line of stdin; never an argument,
    which would stay in the shell history and show in the process list."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-user")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([role.value for role in UserRole]),
    default=UserRole.ORGANIZER.value,
    show_default=True,
    help="admin: manages accounts and sees every petition; organizer: runs given petitions.",
)
@with_appcontext
def create_user_command(email: str, role: str) -> None:
    """Create an account for /admin; the password is read from a prompt or stdin."""
    password = _read_password()
    with session_scope() as session:
        try:
            user = admin.create_user(
                session, email=email, password=password, role=UserRole(role), actor=cli_actor()
            )
        except admin.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"created {role} {user.email}")


@click.command("grant-petition")
@click.argument("email")
@click.argument("slug")
@click.option("--revoke", is_flag=True, help="Take the petition away instead.")
@with_appcontext
def grant_petition_command(email: str, slug: str, revoke: bool) -> None:
    """Let an organizer run the petition at SLUG (or stop them, with --revoke)."""
    with session_scope() as session:
        user = admin.find_user(session, email)
        if user is None:
            raise click.ClickException(f"no account {email}")
        petition = petition_or_fail(session, slug)
        change = admin.revoke_petition if revoke else admin.grant_petition
        changed = change(session, user=user, petition=petition, actor=cli_actor())
        verb = "no longer runs" if revoke else "runs"
        click.echo(f"{user.email} {verb} {slug}" + ("" if changed else " (unchanged)"))


@click.command("reset-login")
@click.argument("email")
@click.option("--password", "new_password", is_flag=True, help="Also set a new password.")
@click.option("--totp-off", is_flag=True, help="Turn the second factor off (a lost phone).")
@with_appcontext
def reset_login_command(email: str, new_password: bool, totp_off: bool) -> None:
    """End every session of an account; optionally reset its password or second factor."""
    with session_scope() as session:
        user = admin.find_user(session, email)
        if user is None:
            raise click.ClickException(f"no account {email}")
        actor = cli_actor()
        try:
            if new_password:
                admin.set_password(session, user=user, password=_read_password(), actor=actor)
        except admin.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        if totp_off:
            admin.disable_totp(session, user=user, actor=actor)
        admin.end_sessions(session, user=user)
        click.echo(f"sessions of {user.email} ended")


COMMANDS: tuple[click.Command, ...] = (
    create_user_command,
    grant_petition_command,
    reset_login_command,
)
