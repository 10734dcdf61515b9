"""Delivery records: to whom a batch was handed, and a petition marked delivered.

Functions flush and never commit; each action is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from sqlalchemy.orm import Session

from petition.audit import service as audit
from petition.db import utcnow
from petition.export.batches import ExportError, get_batch, list_batches, unexported_count
from petition.export.models import ExportBatch
from petition.export.serializers import iso_utc
from petition.i18n import N_, Np_
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus


class AlreadyDelivered(ExportError):
    """The batch was already recorded as delivered."""

    messages: ClassVar[Mapping[str, str]] = {
        "already-delivered": N_("Batch %(batch)s was delivered to %(to)s on %(at)s."),
    }


class NotAllDelivered(ExportError):
    """The petition cannot be marked delivered yet."""

    messages: ClassVar[Mapping[str, str]] = {
        "no-batch-yet": N_("%(slug)s has no batch yet."),
    }
    plurals: ClassVar[Mapping[str, tuple[str, str]]] = {
        "batches-not-delivered": Np_(
            "Batch %(batches)s is not delivered yet.", "Batches %(batches)s are not delivered yet."
        ),
        "signatures-in-no-batch": Np_(
            "%(num)d verified signature is in no batch yet.",
            "%(num)d verified signatures are in no batch yet.",
        ),
    }


class InvalidRecipient(ExportError):
    """Whom a batch went to must be said, in at most 300 characters."""

    messages: ClassVar[Mapping[str, str]] = {
        "recipient-missing": N_("Say whom the batch was delivered to, in at most 300 characters."),
    }


def mark_delivered(
    session: Session, *, petition: Petition, sequence: int, to: str, actor: str
) -> ExportBatch:
    """Record that batch ``sequence`` was handed to ``to`` now.

    Raises :class:`BatchNotFound`, :class:`AlreadyDelivered`, :class:`InvalidRecipient`.
    """
    recipient = " ".join(to.split())
    if not recipient or len(recipient) > 300:
        raise InvalidRecipient("recipient-missing")
    batch = get_batch(session, petition=petition, sequence=sequence)
    if batch.delivered_at is not None:
        raise AlreadyDelivered(
            "already-delivered",
            batch=sequence,
            to=batch.delivered_to,
            at=iso_utc(batch.delivered_at),
        )
    batch.delivered_to = recipient
    batch.delivered_by = actor
    batch.delivered_at = utcnow()
    if batch.first_sequence is not None:
        # The worker now mails each signer in it who asked (petition.export.notices).
        batch.notices_through = batch.first_sequence - 1
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
    """Move the petition to ``delivered`` once every batch is delivered: the one way,
    for /admin and the command alike.

    Raises :class:`petition.petitions.service.InvalidTransition` unless the status rules
    allow the move (a closed petition), and :class:`NotAllDelivered` if there is no
    batch, a batch is not delivered, or counted signatures are not in any batch yet.
    """
    petitions.check_transition(petition, PetitionStatus.DELIVERED)
    batches = list_batches(session, petition=petition)
    if not batches:
        raise NotAllDelivered("no-batch-yet", slug=petition.slug)
    pending = [b.sequence for b in batches if b.delivered_at is None]
    if pending:
        raise NotAllDelivered(
            "batches-not-delivered", num=len(pending), batches=", ".join(map(str, pending))
        )
    left = unexported_count(session, petition=petition)
    if left:
        raise NotAllDelivered("signatures-in-no-batch", num=left)
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
