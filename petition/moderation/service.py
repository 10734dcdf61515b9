"""Moderation of flagged signatures, and the purge of what must not be kept.

The operator's commands and the organizers' pages call these functions; each
action is recorded in the audit log with who did it and why, in the caller's
transaction. Moderation chooses the signatures and reads them; the signing domain
changes them (:mod:`petition.signing.states`), as it alone writes ``signatures``.
They flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.abuse import mailbox as abuse_mailbox
from petition.abuse.models import FlagReason, split_reasons
from petition.audit import service as audit
from petition.audit.models import AuditEvent
from petition.db import utcnow
from petition.export.models import ExportRetraction
from petition.i18n import N_, ServiceError
from petition.petitions import activity
from petition.signing import states
from petition.signing.models import Signature, SignatureStatus

logger = logging.getLogger(__name__)

# Shortest IP-hash prefix a selection accepts: shorter ones would match by accident.
MIN_IP_HASH_PREFIX = 8
# Audit actions of moderation; the first two can be undone by the third.
RELEASE = "flags.release"
INVALIDATE = "flags.invalidate"
REINSTATE = "flags.reinstate"
UNDOABLE = (RELEASE, INVALIDATE)


class MissingReason(ServiceError, ValueError):
    """A moderation action needs a reason for the audit log."""

    messages: ClassVar[Mapping[str, str]] = {
        "reason-missing": N_("Say why, for the audit log."),
    }


class BadSelection(ServiceError, ValueError):
    """A selection that cannot be applied; the message says why."""

    messages: ClassVar[Mapping[str, str]] = {
        "ip-hash-too-short": N_("An address hash needs at least %(min)s characters."),
        "time-without-zone": N_("Times must carry a time zone."),
    }


class CannotReinstate(ServiceError, ValueError):
    """An audit event that cannot be undone (unknown, not moderation of this petition)."""

    messages: ClassVar[Mapping[str, str]] = {
        "not-undoable": N_("Event %(event)s is no release or invalidation to undo."),
        "predates-undo": N_("Event %(event)s predates undo: it lists no signatures."),
        "undone-already": N_("Event %(event)s is undone already."),
    }


class AlreadyReinstated(CannotReinstate):
    """The release or invalidation was undone already: an undo happens once."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which held signatures of one petition an action applies to.

    Every criterion given must match: a flag reason, an email domain, a (prefix of
    an) IP hash, and a window of the time the signatures came in.
    """

    petition_id: int
    reason: FlagReason | None = None
    domain: str | None = None
    ip_hash: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.ip_hash is not None and len(self.ip_hash) < MIN_IP_HASH_PREFIX:
            raise BadSelection("ip-hash-too-short", min=MIN_IP_HASH_PREFIX)
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise BadSelection("time-without-zone")
        if self.domain is not None:
            object.__setattr__(self, "domain", self.domain.strip().strip("@").casefold())

    def describe(self) -> dict[str, Any]:
        """The criteria for the audit log (hashes and domains, no personal data)."""
        found: dict[str, Any] = {}
        if self.reason:
            found["reason"] = str(self.reason)
        if self.domain:
            found["domain"] = self.domain
        if self.ip_hash:
            found["ip_hash"] = self.ip_hash
        if self.since:
            found["since"] = self.since.isoformat()
        if self.until:
            found["until"] = self.until.isoformat()
        return found

    def where(self) -> list[sa.ColumnElement[bool]]:
        conditions = states.held(self.petition_id)
        if self.reason:
            listed = sa.literal(",") + Signature.flag_reasons + sa.literal(",")
            conditions.append(listed.like(f"%,{self.reason},%"))
        if self.domain:
            conditions.append(
                Signature.canonical_email.endswith("@" + self.domain, autoescape=True)
            )
        if self.ip_hash:
            conditions.append(Signature.ip_hash.startswith(self.ip_hash, autoescape=True))
        if self.since:
            conditions.append(Signature.created_at >= self.since)
        if self.until:
            conditions.append(Signature.created_at < self.until)
        return conditions


@dataclasses.dataclass(frozen=True)
class FlagGroup:
    key: str
    held: int
    verified: int


@dataclasses.dataclass(frozen=True)
class FlagReport:
    """Held signatures of a selection, grouped three ways for a moderator."""

    held: int
    verified: int
    by_reason: list[FlagGroup]
    by_ip_hash: list[FlagGroup]
    by_domain: list[FlagGroup]


def _groups(held: Counter[str], verified: Counter[str]) -> list[FlagGroup]:
    return [
        FlagGroup(key=key, held=count, verified=verified[key])
        for key, count in sorted(held.items(), key=lambda item: (-item[1], item[0]))
    ]


def flag_report(session: Session, *, selection: Selection) -> FlagReport:
    """Held signatures (pending or verified) by reason, IP hash and email domain.

    A signature flagged for two reasons is in both reason groups. Withdrawn and
    invalidated signatures are not held any more and are left out.
    """
    rows = session.execute(
        sa.select(
            Signature.flag_reasons, Signature.ip_hash, Signature.canonical_email, Signature.status
        ).where(*selection.where())
    ).all()
    counters: dict[str, tuple[Counter[str], Counter[str]]] = {
        name: (Counter(), Counter()) for name in ("reason", "ip", "domain")
    }
    verified_total = 0
    for row in rows:
        is_verified = row.status == SignatureStatus.VERIFIED
        verified_total += is_verified
        keys = {
            "reason": [str(r) for r in split_reasons(row.flag_reasons)] or ["(none)"],
            "ip": [row.ip_hash or "(erased)"],
            "domain": [(row.canonical_email or "").rpartition("@")[2] or "(none)"],
        }
        for name, values in keys.items():
            held, verified = counters[name]
            for value in values:
                held[value] += 1
                verified[value] += is_verified
    return FlagReport(
        held=len(rows),
        verified=verified_total,
        by_reason=_groups(*counters["reason"]),
        by_ip_hash=_groups(*counters["ip"]),
        by_domain=_groups(*counters["domain"]),
    )


def preview_count(session: Session, *, selection: Selection) -> int:
    """How many held signatures an action on ``selection`` would touch."""
    return (
        session.scalar(sa.select(sa.func.count()).select_from(Signature).where(*selection.where()))
        or 0
    )


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise MissingReason("reason-missing")
    return reason


def release(session: Session, *, selection: Selection, actor: str, reason: str) -> int:
    """Let the selected held signatures count; returns how many were released.

    Verified ones count at the next fold; pending ones once confirmed. Their flag
    reasons stay for the record. Raises :class:`MissingReason` without a reason.
    """
    reason = _require_reason(reason)
    ids = states.release(session, where=selection.where())
    released = len(ids)
    _add_to_today(session, selection.petition_id, released=released)
    audit.record(
        session,
        actor=actor,
        action=RELEASE,
        petition_id=selection.petition_id,
        affected=released,
        details={**selection.describe(), "signature_ids": ids},
        reason=reason,
    )
    logger.info("%s released %d signatures on petition %d", actor, released, selection.petition_id)
    return released


def invalidate(session: Session, *, selection: Selection, actor: str, reason: str) -> int:
    """Invalidate the selected held signatures; returns how many.

    They never count, and a pending one can no longer be confirmed; the signer
    keeps the withdraw link that erases their details. Raises
    :class:`MissingReason` without a reason.
    """
    reason = _require_reason(reason)
    ids = states.invalidate(session, where=selection.where())
    invalidated = len(ids)
    _add_to_today(session, selection.petition_id, invalidated=invalidated)
    activity.add_invalidations(
        session,
        petition_id=selection.petition_id,
        day=utcnow().date(),
        by_rule=_rules_of(session, ids),
    )
    audit.record(
        session,
        actor=actor,
        action=INVALIDATE,
        petition_id=selection.petition_id,
        affected=invalidated,
        details={**selection.describe(), "signature_ids": ids},
        reason=reason,
    )
    logger.info(
        "%s invalidated %d signatures on petition %d", actor, invalidated, selection.petition_id
    )
    return invalidated


def _add_to_today(session: Session, petition_id: int, **counts: int) -> None:
    """Add a decision's counts to the petition's public figures for today (UTC)."""
    activity.add_to_days(session, petition_id=petition_id, days={utcnow().date(): Counter(counts)})


def _rules_of(session: Session, ids: list[int]) -> Counter[str]:
    """How many of the signatures ``ids`` each flag rule had flagged (counts only)."""
    rules: Counter[str] = Counter()
    for start in range(0, len(ids), 1000):
        for stored, n in session.execute(
            sa.select(Signature.flag_reasons, sa.func.count())
            .where(Signature.id.in_(ids[start : start + 1000]))
            .group_by(Signature.flag_reasons)
        ):
            for rule in split_reasons(stored):
                rules[str(rule)] += n
    return rules


def undone_by(session: Session, *, event_ids: list[int]) -> dict[int, int]:
    """For each of ``event_ids`` undone already: the id of the event that undid it."""
    if not event_ids:
        return {}
    undoes = AuditEvent.details["undoes"].as_integer()
    rows = session.execute(
        sa.select(undoes, AuditEvent.id).where(
            AuditEvent.action == REINSTATE, undoes.in_(event_ids)
        )
    ).all()
    return {int(row[0]): int(row[1]) for row in rows}


def reinstate(
    session: Session, *, event_id: int, actor: str, reason: str, petition_id: int | None = None
) -> int:
    """Undo a release or an invalidation recorded as audit event ``event_id``.

    Only the signatures that action changed and that are still as it left them go
    back: released ones are held again (the fold takes them out of the count),
    invalidated ones that had been confirmed are verified and held again (a
    moderator then releases them). Pending ones whose confirmation link the
    invalidation erased, and withdrawn ones, stay as they are. A reinstated
    signature that an export batch already reported as gone loses its number and
    gets a new one at the next fold, so the next batch lists it as new. Returns
    how many signatures changed. ``petition_id`` restricts to one petition's
    events. Raises :class:`MissingReason`, :class:`AlreadyReinstated` or
    :class:`CannotReinstate`.
    """
    reason = _require_reason(reason)
    event = session.get(AuditEvent, event_id, with_for_update=True)
    if (
        event is None
        or event.action not in UNDOABLE
        or (petition_id is not None and event.petition_id != petition_id)
    ):
        raise CannotReinstate("not-undoable", event=event_id)
    ids = [int(i) for i in (event.details or {}).get("signature_ids", [])]
    if "signature_ids" not in (event.details or {}):
        raise CannotReinstate("predates-undo", event=event_id)
    if undone_by(session, event_ids=[event_id]):
        raise AlreadyReinstated("undone-already", event=event_id)
    if event.action == RELEASE:
        changed = states.hold_again(session, ids=ids)
    else:
        changed = states.verify_and_hold_again(session, ids=ids)
    if event.action == INVALIDATE and changed:
        _renumber_retracted(session, ids=changed)
    if event.petition_id is not None:
        # Either way they are held for review again (the public daily figures).
        _add_to_today(session, event.petition_id, held=len(changed))
    audit.record(
        session,
        actor=actor,
        action=REINSTATE,
        petition_id=event.petition_id,
        affected=len(changed),
        details={
            "undoes": event.id,
            "undone_action": event.action,
            "signature_ids": changed,
            "skipped": len(ids) - len(changed),
        },
        reason=reason,
    )
    logger.info(
        "%s undid audit event %d (%s): %d signatures", actor, event.id, event.action, len(changed)
    )
    return len(changed)


def _renumber_retracted(session: Session, *, ids: list[int]) -> None:
    """Drop the export number of reinstated signatures a batch already reported gone."""
    retracted = sa.exists().where(
        ExportRetraction.petition_id == Signature.petition_id,
        ExportRetraction.sequence == Signature.sequence,
    )
    states.forget_sequences(session, ids=ids, where=retracted)


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    ip_hashes_erased: int
    expired_pending_deleted: int
    # Mails to mailboxes older than the mail limit's longest window (abuse.mailbox).
    mailbox_mails_deleted: int = 0


def purge(
    session: Session,
    *,
    ip_hash_retention: dt.timedelta,
    actor: str,
    now: dt.datetime | None = None,
    mail_limits: str | None = None,
) -> PurgeResult:
    """Erase IP hashes older than ``ip_hash_retention``, delete pending signatures
    whose confirmation link has expired (nobody answered the mailbox) and, with
    ``mail_limits`` (``PETITION_RATELIMIT_MAIL_PER_EMAIL``), the mails to mailboxes
    counted for it that are older than its longest window."""
    now = now or utcnow()
    erased = states.erase_ip_hashes(session, created_before=now - ip_hash_retention)
    deleted = states.delete_expired_pending(session, now=now)
    mails = abuse_mailbox.purge(session, limits=mail_limits, now=now) if mail_limits else 0
    result = PurgeResult(
        ip_hashes_erased=erased, expired_pending_deleted=deleted, mailbox_mails_deleted=mails
    )
    audit.record(
        session,
        actor=actor,
        action="signatures.purge",
        affected=erased + deleted,
        details={**dataclasses.asdict(result), "retention_days": ip_hash_retention.days},
    )
    logger.info("purge: %d IP hashes erased, %d expired pending deleted", erased, deleted)
    return result
