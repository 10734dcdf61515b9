"""The changes of state that moderators and the purge ask of a signature.

Only the signing domain writes the ``signatures`` table: moderation
(:mod:`petition.moderation.service`) decides which signatures and records why, and
calls these to change them. Each statement is one bulk ``UPDATE … RETURNING`` (or
DELETE), so no row slips in between choosing the rows and changing them; each
returns what it changed. The counts follow at the next fold. They flush nothing
else and never commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.signing.models import Signature, SignatureStatus

# Held signatures a moderator can still decide on: pending or verified.
OPEN_STATES = (SignatureStatus.PENDING, SignatureStatus.VERIFIED)
# Ids per UPDATE: stays under every database's bound-parameter limit.
_CHUNK = 1000


def held(petition_id: int) -> list[sa.ColumnElement[bool]]:
    """The held signatures of a petition that wait for a moderator."""
    return [
        Signature.petition_id == petition_id,
        Signature.is_held.expression,  # as the partial index ix_signatures_held says
        Signature.status.in_(OPEN_STATES),
    ]


def _changed(session: Session, statement: sa.Update | sa.Delete) -> int:
    """Run a bulk UPDATE or DELETE; returns the number of rows it changed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast("sa.CursorResult[Any]", result).rowcount)


def _changed_ids(session: Session, statement: sa.Update) -> list[int]:
    """Run a bulk UPDATE; returns the ids of the rows it changed, in order."""
    result = session.execute(
        statement.returning(Signature.id).execution_options(synchronize_session=False)
    )
    return sorted(int(i) for i in result.scalars())


def _by_chunk(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]


def release(session: Session, *, where: list[sa.ColumnElement[bool]]) -> list[int]:
    """Let the held signatures matching ``where`` count; their flag reasons stay.

    Verified ones count at the next fold, pending ones once confirmed. ``where``
    should include :func:`held`; returns the ids released.
    """
    return _changed_ids(
        session, sa.update(Signature).where(*where).values(is_held=False, released_at=utcnow())
    )


def invalidate(session: Session, *, where: list[sa.ColumnElement[bool]]) -> list[int]:
    """Invalidate the signatures matching ``where``: they never count, and a pending one
    can no longer be confirmed (confirm links work only while pending). Returns the ids
    invalidated."""
    return _changed_ids(
        session,
        sa.update(Signature)
        .where(*where)
        .values(status=SignatureStatus.INVALIDATED, confirm_expires_at=None),
    )


def hold_again(session: Session, *, ids: list[int]) -> list[int]:
    """Undo a release: of ``ids``, those still open and released are held again."""
    changed: list[int] = []
    for chunk in _by_chunk(ids):
        changed += _changed_ids(
            session,
            sa.update(Signature)
            .where(
                Signature.id.in_(chunk),
                Signature.status.in_(OPEN_STATES),
                Signature.is_held.is_(False),
            )
            .values(is_held=True, released_at=None),
        )
    return changed


def verify_and_hold_again(session: Session, *, ids: list[int]) -> list[int]:
    """Undo an invalidation: of ``ids``, those still invalidated that had been
    confirmed are verified and held again (a moderator then releases them). Pending
    ones whose link the invalidation erased stay as they are."""
    changed: list[int] = []
    for chunk in _by_chunk(ids):
        changed += _changed_ids(
            session,
            sa.update(Signature)
            .where(
                Signature.id.in_(chunk),
                Signature.status == SignatureStatus.INVALIDATED,
                Signature.verified_at.is_not(None),
            )
            .values(status=SignatureStatus.VERIFIED, is_held=True),
        )
    return changed


def forget_sequences(
    session: Session, *, ids: list[int], where: sa.ColumnElement[bool] | None = None
) -> int:
    """Drop the export number of those of ``ids`` for which ``where`` holds (all, without
    it); the fold gives them the next numbers when they count again. Returns how many."""
    forgotten = 0
    for chunk in _by_chunk(ids):
        statement = sa.update(Signature).where(Signature.id.in_(chunk))
        if where is not None:
            statement = statement.where(where)
        forgotten += _changed(session, statement.values(sequence=None))
    return forgotten


def erase_ip_hashes(session: Session, *, created_before: dt.datetime) -> int:
    """Erase the IP hash of every signature made before ``created_before``."""
    return _changed(
        session,
        sa.update(Signature)
        .where(Signature.ip_hash.is_not(None), Signature.created_at < created_before)
        .values(ip_hash=None),
    )


def delete_expired_pending(session: Session, *, now: dt.datetime) -> int:
    """Delete pending signatures whose confirmation link expired (nobody answered)."""
    return _changed(
        session,
        sa.delete(Signature).where(
            Signature.status == SignatureStatus.PENDING, Signature.confirm_expires_at < now
        ),
    )


def end_update_consent(session: Session, *, signature_id: int) -> bool:
    """The signer asked for no more updates (their unsubscribe link); True if it changed."""
    return (
        _changed(
            session,
            sa.update(Signature)
            .where(Signature.id == signature_id, Signature.has_update_consent.is_(True))
            .values(has_update_consent=False),
        )
        > 0
    )


def end_delivery_consent(session: Session, *, signature_ids: list[int]) -> int:
    """The one delivery mail the signers asked for is queued: their consent is spent,
    so no later batch holding the same signature (a full re-export) mails them again."""
    changed = 0
    for start in range(0, len(signature_ids), _CHUNK):
        changed += _changed(
            session,
            sa.update(Signature)
            .where(
                Signature.id.in_(signature_ids[start : start + _CHUNK]),
                Signature.has_delivery_consent.is_(True),
            )
            .values(has_delivery_consent=False),
        )
    return changed
