"""``flask petition export | verify | delivered | batches | data-export | receipt |
verify-receipt``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy.exc import IntegrityError

from petition.audit.service import cli_actor
from petition.config import Settings, current_settings
from petition.db import db, session_scope
from petition.export import batch_key, batches, data_export, delivery, receipts, verify_cli
from petition.i18n import english_count
from petition.petitions import service as petitions
from petition.petitions.cli import petition_or_fail

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )


@click.command("export")
@click.option("--petition", "slug", required=True, help="The petition's slug.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the batch ZIP into.",
)
@click.option(
    "--all", "full", is_flag=True, help="Re-export every current signature (marked as such)."
)
@with_appcontext
def export_command(slug: str, out_dir: Path, full: bool) -> None:
    """Write the petition's next signed batch: DIR/<slug>-batch-<n>.zip."""
    key = _batch_key()
    # Build without holding a transaction (typesetting a big batch takes minutes and
    # must not keep SQLite's write lock from signers), then record in a short one.
    with session_scope(write=False) as session:
        petition = petition_or_fail(session, slug)
    try:
        built = batches.build_batch(
            db.engine, petition=petition, out_dir=out_dir, key=key, is_full_reexport=full
        )
        with session_scope() as session:
            batch = batches.record_batch(session, petition=petition, built=built, actor=cli_actor())
    except batches.ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    except IntegrityError as exc:
        raise click.ClickException(
            f"{slug}: another export took this batch number at the same time; run again"
        ) from exc
    span = f"{batch.first_sequence}–{batch.last_sequence}" if batch.first_sequence else "none"
    click.echo(
        f"{built.path}: batch {batch.sequence}, "
        f"{english_count(batch.signature_count, 'signature', 'signatures')} "
        f"({span}), {batch.withdrawn_count} withdrawn since earlier batches\n"
        f"manifest SHA-256 {batch.manifest_sha256}\nsigning key {batch.key_fingerprint}"
    )


def _batch_key() -> Ed25519PrivateKey:
    try:
        return batch_key.app_key()
    except batch_key.SigningKeyError as exc:
        raise click.ClickException(str(exc)) from exc


def _public_key(path: Path | None) -> Ed25519PublicKey:
    if path is None:
        return _batch_key().public_key()
    try:
        return batch_key.load_public_key(path.read_bytes())
    except batch_key.SigningKeyError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def _app_settings() -> Settings:
    """The settings of the app this command runs in."""
    return current_settings(click.get_current_context().ensure_object(ScriptInfo).load_app())


# The same command as `flask --app wsgi petition verify` runs without the app (see
# petition.export.verify_cli), here with the key of the app it is run in.
verify_command = verify_cli.make_verify_command(_app_settings)


@click.command("delivered")
@click.argument("slug")
@click.argument("sequence", type=click.IntRange(min=1))
@click.option("--to", "to", required=True, help="Whom the batch was handed to.")
@click.option(
    "--petition-delivered",
    is_flag=True,
    help="Also mark the petition delivered (every batch must be delivered).",
)
@with_appcontext
def delivered_command(slug: str, sequence: int, to: str, petition_delivered: bool) -> None:
    """Record that batch SEQUENCE of petition SLUG was delivered."""
    try:
        with session_scope() as session:
            petition = petition_or_fail(session, slug)
            batch = delivery.mark_delivered(
                session, petition=petition, sequence=sequence, to=to, actor=cli_actor()
            )
            click.echo(f"{slug} batch {batch.sequence}: delivered to {batch.delivered_to}")
            if petition_delivered:
                delivery.mark_petition_delivered(session, petition=petition, actor=cli_actor())
                click.echo(f"{slug}: delivered")
    except (batches.ExportError, petitions.InvalidTransition) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("batches")
@click.argument("slug")
@with_appcontext
def batches_command(slug: str) -> None:
    """List a petition's batches and where they were delivered."""
    with session_scope(write=False) as session:
        for batch in batches.list_batches(session, petition=petition_or_fail(session, slug)):
            where = (
                f"delivered to {batch.delivered_to} {batch.delivered_at:%Y-%m-%d}"
                if batch.delivered_at
                else "not delivered"
            )
            click.echo(
                f"{batch.sequence}\t"
                f"{english_count(batch.signature_count, 'signature', 'signatures')}\t"
                f"{batch.first_sequence}–{batch.last_sequence}\t{batch.created_by}\t"
                f"{batch.created_at:%Y-%m-%d %H:%M}Z\t{where}\t{batch.manifest_sha256}"
            )


@click.command("data-export")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def data_export_command(slug: str, fmt: data_export.DataFormat, out_file: Path) -> None:
    """Write every signature with email and consent (organizers' records, not a batch)."""
    with session_scope() as session, out_file.open("w", encoding="utf-8", newline="") as out:
        for chunk in data_export.full_data_export(
            session, petition=petition_or_fail(session, slug), fmt=fmt, actor=cli_actor()
        ):
            out.write(chunk)
    click.echo(f"{out_file}: written")


@click.command("receipt")
@click.argument("slug")
@click.argument("sequence", type=click.IntRange(min=1))
@click.option("--batch", "batch_sequence", type=click.IntRange(min=1), help="This batch only.")
@with_appcontext
def receipt_command(slug: str, sequence: int, batch_sequence: int | None) -> None:
    """Print the inclusion receipt (JSON) of signature SEQUENCE of petition SLUG."""
    with session_scope(write=False) as session:
        try:
            receipt = receipts.make_receipt(
                session,
                petition=petition_or_fail(session, slug),
                sequence=sequence,
                batch_sequence=batch_sequence,
            )
        except receipts.ReceiptError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(receipts.dump(receipt), nl=False)


@click.command("verify-receipt")
@click.argument("receipt_file", type=click.File("rb"))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The service's public key (PEM); by default this service's own key.",
)
@with_appcontext
def verify_receipt_command(receipt_file: IO[bytes], public_key: Path | None) -> None:
    """Check an inclusion receipt: the signed manifest, the row and its audit path."""
    key = _public_key(public_key)
    try:
        receipt = json.loads(receipt_file.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{receipt_file.name}: not JSON ({exc})") from exc
    report = receipts.verify_receipt(receipt, public_key=key)
    for line in report.checked:
        click.echo(f"ok    {line}")
    for line in report.failures:
        click.echo(f"FAIL  {line}")
    if not report.is_valid:
        click.echo(f"{receipt_file.name}: NOT VALID ({len(report.failures)} problems)")
        raise SystemExit(1)
    click.echo(f"{receipt_file.name}: valid")


COMMANDS: tuple[click.Command, ...] = (
    export_command,
    verify_command,
    delivered_command,
    batches_command,
    data_export_command,
    receipt_command,
    verify_receipt_command,
)
