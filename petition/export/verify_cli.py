"""``flask petition verify``: check a batch ZIP, without the service.

Checking a batch needs the ZIP, a public key, hashlib, zlib, csv and cryptography's
Ed25519, nothing of the service: no database, no app. Creating the app (importing
every domain, SQLAlchemy, the forms, the typesetter) took about 1.7 s of the command's
5.2 s at a million rows, so ``flask --app wsgi petition verify`` runs this command
without it (:class:`petition.commands.PetitionCommands`), and this module imports
only the verifier. Without ``--public-key`` the key is the service's own, found from
the same ``PETITION_*`` settings the app would be made from.

The app's ``flask petition`` group holds the same command, for a Flask that has not
loaded the plugin (an install older than it) and for the tests' CLI runner; there the
key comes from the app's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from petition.export import batch_key
from petition.export import verify as export_verify
from petition.i18n import english_count

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from petition.config import Settings


def settings_from_env() -> Settings:
    """The settings ``wsgi.py``'s app is made from. Raises :class:`click.ClickException`."""
    from petition.config import ConfigError, Settings

    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _public_key(path: Path | None, settings: Callable[[], Settings]) -> Ed25519PublicKey:
    try:
        if path is not None:
            return batch_key.load_public_key(path.read_bytes())
        return batch_key.load_private_key(settings()).public_key()
    except batch_key.SigningKeyError as exc:
        raise click.ClickException(f"{path}: {exc}" if path else str(exc)) from exc


def make_verify_command(settings: Callable[[], Settings]) -> click.Command:
    """The ``verify`` command, finding the service's key (when no ``--public-key`` is
    given) from ``settings()``."""

    @click.command("verify")
    @click.argument("batch_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--public-key",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The service's public key (PEM); by default this service's own key.",
    )
    @click.option(
        "--previous",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The batch before this one, to check the chain.",
    )
    def verify_command(batch_file: Path, public_key: Path | None, previous: Path | None) -> None:
        """Check a batch: signature, every file, the rows and (with --previous) the chain."""
        key = _public_key(public_key, settings)
        report = export_verify.verify_batch(batch_file, public_key=key, previous=previous)
        for line in report.checked:
            click.echo(f"ok    {line}")
        for line in report.failures:
            click.echo(f"FAIL  {line}")
        if not report.is_valid:
            problems = english_count(len(report.failures), "problem", "problems")
            click.echo(f"{batch_file}: NOT VALID ({problems})")
            raise SystemExit(1)
        click.echo(f"{batch_file}: valid")

    return verify_command


# `flask --app wsgi petition verify`, run without the app.
verify_command = make_verify_command(settings_from_env)
