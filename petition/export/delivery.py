"""Delivery records: to whom a batch was handed, and a petition marked delivered.

Functions flush and never commit; each action is recorded in the audit log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from petition.audit import service as audit
from petition.db import utcnow
from petition.export.batches import ExportError, get_batch, list_batches, unexported_count
from petition.export.models import ExportBatch
from petition.export.serializers import iso_utc
from petition.petitions.models import Petition, PetitionStatus


class AlreadyDelivered(ExportError):
    """The batch was already recorded as delivered."""


class NotAllDelivered(ExportError):
    """The petition cannot be marked delivered yet."""


class InvalidRecipient(ExportError):
    """Whom a batch went to must be said, in at most 300 characters."""


def mark_delivered(
    session: Session, *, petition: Petition, sequence: int, to: str, actor: str
) -> ExportBatch:
    """Record that batch ``sequence`` was handed to ``to`` now.

    Raises :class:`BatchNotFound`, :class:`AlreadyDelivered`, :class:`InvalidRecipient`.
    """
    recipient = " ".join(to.split())
    if not recipient or len(recipient) > 300:
        raise InvalidRecipient("say whom the batch was delivered to (at most 300 characters)")
    batch = get_batch(session, petition=petition, sequence=sequence)
    if batch.delivered_at is not None:
        raise AlreadyDelivered(
            f"{petition.slug} batch {sequence} was delivered to {batch.delivered_to} "
            f"on {iso_utc(batch.delivered_at)}"
        )
    batch.delivered_to = recipient
    batch.delivered_by = actor
    batch.delivered_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="export.deliver",
        petition_id=petition.id,
        affected=batch.signature_count,
        details={"batch": sequence, "to": recipient},
    )
    return batch


def mark_petition_delivered(session: Session, *, petition: Petition, actor: str) -> Petition:
    """Move the petition to ``delivered`` once every batch is delivered.

    Raises :class:`NotAllDelivered` if there is no batch, a batch is not delivered,
    or counted signatures are not in any batch yet.
    """
    batches = list_batches(session, petition=petition)
    if not batches:
        raise NotAllDelivered(f"{petition.slug} has no batch yet")
    pending = [b.sequence for b in batches if b.delivered_at is None]
    if pending:
        raise NotAllDelivered(
            f"{petition.slug}: batch {', '.join(map(str, pending))} not delivered yet"
        )
    left = unexported_count(session, petition=petition)
    if left:
        raise NotAllDelivered(f"{petition.slug}: {left} signatures are in no batch yet")
    petition.status = PetitionStatus.DELIVERED
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="petition.deliver",
        petition_id=petition.id,
        details={"batches": len(batches)},
    )
    return petition
