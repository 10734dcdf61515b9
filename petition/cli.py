"""``flask --app wsgi petition …``: the operator's commands."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from petition.abuse.models import FlagReason
from petition.admin import service as admin
from petition.admin.models import UserRole
from petition.api import service as api_keys
from petition.audit import service as audit
from petition.audit.service import cli_actor
from petition.config import Settings
from petition.db import db, session_scope
from petition.export import keys as export_keys
from petition.export import service as export
from petition.export import verify as export_verify
from petition.moderation import service as moderation
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import counts
from petition.widget import service as widget
from petition.worker import worker_command

petition_group = AppGroup("petition", help="Run and manage the petition service.")

# Defined with the loop it runs, in the app layer.
petition_group.add_command(worker_command)


@petition_group.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--draft", is_flag=True, help="Create new petitions as drafts instead of opening them."
)
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
            count = counts.recount(session, petition=petition)
            click.echo(f"{petition.slug}: {count}")


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times typed without a zone are UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _print_groups(
    title: str, groups: list[moderation.FlagGroup], *, width: int | None = None
) -> None:
    click.echo(f"\nby {title}:")
    if not groups:
        click.echo("  (none)")
    for group in groups:
        key = group.key if width is None else group.key[:width]
        click.echo(f"  {key:<40} {group.held:>7} held, {group.verified:>7} verified")


_TIME = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])


@petition_group.command("flags")
@click.option("--petition", "slug", help="The petition's slug (required but with --reinstate).")
@click.option("--reason", type=click.Choice([r.value for r in FlagReason]), help="Flag reason.")
@click.option("--domain", help="Email domain, e.g. mailinator.com.")
@click.option(
    "--ip-hash", help=f"IP hash or a prefix of it (at least {moderation.MIN_IP_HASH_PREFIX})."
)
@click.option("--since", type=_TIME, help="Signed at or after this time (UTC).")
@click.option("--until", type=_TIME, help="Signed before this time (UTC).")
@click.option("--release", "action", flag_value="release", help="Let the selection count.")
@click.option("--invalidate", "action", flag_value="invalidate", help="Invalidate the selection.")
@click.option(
    "--reinstate",
    "event_id",
    type=click.IntRange(min=1),
    help="Undo the release or invalidation recorded as this audit event id.",
)
@click.option("--why", default="", help="Why you act: recorded in the audit log (required).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def flags_command(
    slug: str | None,
    reason: str | None,
    domain: str | None,
    ip_hash: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    action: str | None,
    event_id: int | None,
    why: str,
    yes: bool,
) -> None:
    """List held (flagged) signatures of a petition, release or invalidate a selection,
    or undo a release or invalidation (--reinstate EVENT_ID)."""
    if event_id is not None:
        _reinstate(slug, event_id=event_id, why=why, action=action)
        return
    if slug is None:
        raise click.UsageError("--petition is required")
    with session_scope(write=action is not None) as session:
        petition = petitions.get_by_slug(session, slug)
        if petition is None:
            raise click.ClickException(f"no petition {slug}")
        try:
            selection = moderation.Selection(
                petition_id=petition.id,
                reason=FlagReason(reason) if reason else None,
                domain=domain,
                ip_hash=ip_hash,
                since=_utc(since),
                until=_utc(until),
            )
        except moderation.BadSelection as exc:
            raise click.BadParameter(str(exc)) from exc
        if action is None:
            report = moderation.flag_report(session, selection=selection)
            click.echo(f"{slug}: {report.held} held, {report.verified} of them verified")
            _print_groups("reason", report.by_reason)
            _print_groups("IP hash (first 16 characters)", report.by_ip_hash, width=16)
            _print_groups("email domain", report.by_domain)
            return
        if not why.strip():
            raise click.UsageError("--why is required with --release or --invalidate")
        count = moderation.preview_count(session, selection=selection)
        if count == 0:
            click.echo("no held signature matches")
            return
        if not yes:
            click.confirm(f"{action} {count} held signatures of {slug}?", abort=True)
        act = moderation.release if action == "release" else moderation.invalidate
        done = act(session, selection=selection, actor=cli_actor(), reason=why)
        click.echo(f"{action}d {done} signatures of {slug}")


def _reinstate(slug: str | None, *, event_id: int, why: str, action: str | None) -> None:
    if action is not None:
        raise click.UsageError("--reinstate goes alone, without --release or --invalidate")
    if not why.strip():
        raise click.UsageError("--why is required with --reinstate")
    with session_scope() as session:
        petition_id = None
        if slug is not None:
            petition_id = _petition(session, slug).id
        try:
            done = moderation.reinstate(
                session,
                event_id=event_id,
                actor=cli_actor(),
                reason=why,
                petition_id=petition_id,
            )
        except moderation.CannotReinstate as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"undid audit event {event_id}: {done} signatures reinstated")


@petition_group.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Erase IP hashes older than this (default PETITION_IP_HASH_RETENTION_DAYS).",
)
def purge_command(days: int | None) -> None:
    """Erase old IP hashes and delete pending signatures whose link expired."""
    settings: Settings = current_app.config["PETITION_SETTINGS"]
    retention = dt.timedelta(days=days or settings.ip_hash_retention_days)
    with session_scope() as session:
        result = moderation.purge(session, ip_hash_retention=retention, actor=cli_actor())
    click.echo(
        f"erased {result.ip_hashes_erased} IP hashes older than {retention.days} days, "
        f"deleted {result.expired_pending_deleted} expired pending signatures"
    )


def _petition(session: Session, slug: str) -> Petition:
    found = session.scalars(sa.select(Petition).where(Petition.slug == slug)).one_or_none()
    if found is None:
        raise click.ClickException(f"no petition {slug}")
    return found


@petition_group.command("export")
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
def export_command(slug: str, out_dir: Path, full: bool) -> None:
    """Write the petition's next signed batch: DIR/<slug>-batch-<n>.zip."""
    key = _signing_key()
    # Build without holding a transaction (typesetting a big batch takes minutes and
    # must not keep SQLite's write lock from signers), then record in a short one.
    with session_scope(write=False) as session:
        petition = _petition(session, slug)
    try:
        built = export.build_batch(
            db.engine, petition=petition, out_dir=out_dir, key=key, is_full_reexport=full
        )
        with session_scope() as session:
            batch = export.record_batch(session, petition=petition, built=built, actor=cli_actor())
    except export.ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    except IntegrityError as exc:
        raise click.ClickException(
            f"{slug}: another export took this batch number at the same time; run again"
        ) from exc
    span = f"{batch.first_sequence}–{batch.last_sequence}" if batch.first_sequence else "none"
    click.echo(
        f"{built.path}: batch {batch.sequence}, {batch.signature_count} signatures "
        f"({span}), {batch.withdrawn_count} withdrawn since earlier batches\n"
        f"manifest SHA-256 {batch.manifest_sha256}\nsigning key {batch.key_fingerprint}"
    )


def _signing_key() -> Ed25519PrivateKey:
    try:
        return export_keys.app_key()
    except export_keys.SigningKeyError as exc:
        raise click.ClickException(str(exc)) from exc


@petition_group.command("verify")
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
    if public_key is not None:
        try:
            key = export_keys.load_public_key(public_key.read_bytes())
        except export_keys.SigningKeyError as exc:
            raise click.ClickException(f"{public_key}: {exc}") from exc
    else:
        key = _signing_key().public_key()
    report = export_verify.verify_batch(batch_file, public_key=key, previous=previous)
    for line in report.checked:
        click.echo(f"ok    {line}")
    for line in report.failures:
        click.echo(f"FAIL  {line}")
    if not report.is_valid:
        click.echo(f"{batch_file}: NOT VALID ({len(report.failures)} problems)")
        raise SystemExit(1)
    click.echo(f"{batch_file}: valid")


@petition_group.command("delivered")
@click.argument("slug")
@click.argument("sequence", type=click.IntRange(min=1))
@click.option("--to", "to", required=True, help="Whom the batch was handed to.")
@click.option(
    "--petition-delivered",
    is_flag=True,
    help="Also mark the petition delivered (every batch must be delivered).",
)
def delivered_command(slug: str, sequence: int, to: str, petition_delivered: bool) -> None:
    """Record that batch SEQUENCE of petition SLUG was delivered."""
    try:
        with session_scope() as session:
            petition = _petition(session, slug)
            batch = export.mark_delivered(
                session, petition=petition, sequence=sequence, to=to, actor=cli_actor()
            )
            click.echo(f"{slug} batch {batch.sequence}: delivered to {batch.delivered_to}")
            if petition_delivered:
                export.mark_petition_delivered(session, petition=petition, actor=cli_actor())
                click.echo(f"{slug}: delivered")
    except export.ExportError as exc:
        raise click.ClickException(str(exc)) from exc


@petition_group.command("batches")
@click.argument("slug")
def batches_command(slug: str) -> None:
    """List a petition's batches and where they were delivered."""
    with session_scope(write=False) as session:
        for batch in export.list_batches(session, petition=_petition(session, slug)):
            where = (
                f"delivered to {batch.delivered_to} {batch.delivered_at:%Y-%m-%d}"
                if batch.delivered_at
                else "not delivered"
            )
            click.echo(
                f"{batch.sequence}\t{batch.signature_count} signatures\t"
                f"{batch.first_sequence}–{batch.last_sequence}\t{batch.created_by}\t"
                f"{batch.created_at:%Y-%m-%d %H:%M}Z\t{where}\t{batch.manifest_sha256}"
            )


@petition_group.command("data-export")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
def data_export_command(slug: str, fmt: export.DataFormat, out_file: Path) -> None:
    """Write every signature with email and consent (organizers' records, not a batch)."""
    with session_scope() as session, out_file.open("w", encoding="utf-8", newline="") as out:
        for chunk in export.full_data_export(
            session, petition=_petition(session, slug), fmt=fmt, actor=cli_actor()
        ):
            out.write(chunk)
    click.echo(f"{out_file}: written")


@petition_group.command("allow-embed")
@click.argument("slug")
@click.argument("origins", nargs=-1)
@click.option("--any", "any_site", is_flag=True, help="Let any site embed the widget (default).")
@click.option("--none", "no_site", is_flag=True, help="Let no site embed the widget.")
def allow_embed_command(slug: str, origins: tuple[str, ...], any_site: bool, no_site: bool) -> None:
    """Set which sites may frame a petition's widget, e.g. https://campaign.example."""
    if sum([bool(origins), any_site, no_site]) != 1:
        raise click.UsageError("give ORIGINS, or --any, or --none")
    with session_scope() as session:
        petition = _petition(session, slug)
        try:
            allowed = widget.set_embed_origins(
                session, petition=petition, origins=None if any_site else origins
            )
        except widget.InvalidOrigin as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(
            session,
            actor=audit.cli_actor(),
            action="widget.allow_embed",
            petition_id=petition.id,
            details={"origins": allowed},
        )
        if allowed is None:
            click.echo(f"{slug}: any site may embed the widget")
        elif not allowed:
            click.echo(f"{slug}: no site may embed the widget")
        else:
            click.echo(f"{slug}: only {' '.join(allowed)} may embed the widget")


api_key_group = AppGroup("api-key", help="Partner keys for the signatures API.")
petition_group.add_command(api_key_group)


@api_key_group.command("create")
@click.option("--petition", "slug", required=True, help="The petition the key may sign.")
@click.option("--name", required=True, help="Who the key is for (recorded with signatures).")
def api_key_create_command(slug: str, name: str) -> None:
    """Create a partner key; it is printed once and only its hash is kept."""
    with session_scope() as session:
        petition = _petition(session, slug)
        try:
            key, secret = api_keys.create_key(session, petition=petition, name=name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(
            session,
            actor=audit.cli_actor(),
            action="api.key_create",
            petition_id=petition.id,
            details={"key_id": key.id, "name": key.name},
        )
    click.echo(f"key {key.id} for {key.name} on {slug}; shown only now, store it safely:", err=True)
    click.echo(secret)


@api_key_group.command("revoke")
@click.argument("key_id", type=int)
def api_key_revoke_command(key_id: int) -> None:
    """Revoke a partner key at once."""
    with session_scope() as session:
        try:
            key = api_keys.revoke_key(session, key_id=key_id)
        except api_keys.KeyNotFound:
            raise click.ClickException(f"no api key {key_id}") from None
        audit.record(
            session,
            actor=audit.cli_actor(),
            action="api.key_revoke",
            petition_id=key.petition_id,
            details={"key_id": key.id, "name": key.name},
        )
        click.echo(f"key {key.id} ({key.name}) revoked")


@api_key_group.command("list")
@click.option("--petition", "slug", help="Only this petition's keys.")
def api_key_list_command(slug: str | None) -> None:
    """List partner keys (never the keys themselves)."""
    with session_scope(write=False) as session:
        petition = _petition(session, slug) if slug else None
        for key in api_keys.list_keys(session, petition=petition):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            click.echo(f"{key.id}\t{key.petition.slug}\t{key.name}\t{state}")


def _read_password() -> str:
    """From a hidden prompt at a terminal, else one line of stdin; never an argument,
    which would stay in the shell history and show in the process list."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@petition_group.command("create-user")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([role.value for role in UserRole]),
    default=UserRole.ORGANIZER.value,
    show_default=True,
    help="admin: manages accounts and sees every petition; organizer: runs given petitions.",
)
def create_user_command(email: str, role: str) -> None:
    """Create an account for /admin; the password is read from a prompt or stdin."""
    password = _read_password()
    with session_scope() as session:
        try:
            user = admin.create_user(session, email=email, password=password, role=UserRole(role))
        except admin.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(
            session,
            actor=audit.cli_actor(),
            action="account.create",
            details={"user": user.id, "role": role},
        )
        click.echo(f"created {role} {user.email}")


@petition_group.command("grant-petition")
@click.argument("email")
@click.argument("slug")
@click.option("--revoke", is_flag=True, help="Take the petition away instead.")
def grant_petition_command(email: str, slug: str, revoke: bool) -> None:
    """Let an organizer run the petition at SLUG (or stop them, with --revoke)."""
    with session_scope() as session:
        user = admin.find_user(session, email)
        if user is None:
            raise click.ClickException(f"no account {email}")
        petition = session.scalars(sa.select(Petition).where(Petition.slug == slug)).first()
        if petition is None:
            raise click.ClickException(f"no petition {slug}")
        change = admin.revoke_petition if revoke else admin.grant_petition
        changed = change(session, user=user, petition=petition, actor=audit.cli_actor())
        verb = "no longer runs" if revoke else "runs"
        click.echo(f"{user.email} {verb} {slug}" + ("" if changed else " (unchanged)"))


@petition_group.command("reset-login")
@click.argument("email")
@click.option("--password", "new_password", is_flag=True, help="Also set a new password.")
@click.option("--totp-off", is_flag=True, help="Turn the second factor off (a lost phone).")
def reset_login_command(email: str, new_password: bool, totp_off: bool) -> None:
    """End every session of an account; optionally reset its password or second factor."""
    with session_scope() as session:
        user = admin.find_user(session, email)
        if user is None:
            raise click.ClickException(f"no account {email}")
        actor = audit.cli_actor()
        try:
            if new_password:
                admin.set_password(session, user=user, password=_read_password(), actor=actor)
        except admin.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        if totp_off:
            admin.disable_totp(session, user=user, actor=actor)
        admin.end_sessions(session, user=user)
        click.echo(f"sessions of {user.email} ended")
