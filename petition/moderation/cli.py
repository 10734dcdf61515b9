"""``flask petition flags`` and ``flask petition purge``."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from petition.abuse.models import FlagReason
from petition.audit.service import cli_actor
from petition.config import current_settings
from petition.db import session_scope
from petition.i18n import english_count
from petition.moderation import service as moderation
from petition.petitions.cli import petition_or_fail


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


@click.command("flags")
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
@with_appcontext
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
        petition = petition_or_fail(session, slug)
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
            held = english_count(count, "held signature", "held signatures")
            click.confirm(f"{action} {held} of {slug}?", abort=True)
        act = moderation.release if action == "release" else moderation.invalidate
        done = act(session, selection=selection, actor=cli_actor(), reason=why)
        click.echo(f"{action}d {english_count(done, 'signature', 'signatures')} of {slug}")


def _reinstate(slug: str | None, *, event_id: int, why: str, action: str | None) -> None:
    if action is not None:
        raise click.UsageError("--reinstate goes alone, without --release or --invalidate")
    if not why.strip():
        raise click.UsageError("--why is required with --reinstate")
    with session_scope() as session:
        petition_id = None
        if slug is not None:
            petition_id = petition_or_fail(session, slug).id
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
    reinstated = english_count(done, "signature", "signatures")
    click.echo(f"undid audit event {event_id}: {reinstated} reinstated")


@click.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Erase IP hashes older than this (default PETITION_IP_HASH_RETENTION_DAYS).",
)
@with_appcontext
def purge_command(days: int | None) -> None:
    """Erase old IP hashes and delete pending signatures whose link expired."""
    settings = current_settings()
    retention = dt.timedelta(days=days or settings.ip_hash_retention_days)
    with session_scope() as session:
        result = moderation.purge(
            session,
            ip_hash_retention=retention,
            actor=cli_actor(),
            mail_limits=settings.ratelimit_mail_per_email,
        )
    click.echo(
        f"erased {english_count(result.ip_hashes_erased, 'IP hash', 'IP hashes')} older than "
        f"{english_count(retention.days, 'day', 'days')}, deleted "
        f"{english_count(result.expired_pending_deleted, 'expired pending signature', 'expired pending signatures')}"
    )


COMMANDS: tuple[click.Command, ...] = (flags_command, purge_command)
