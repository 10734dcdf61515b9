"""Stopping updates: the link in every update (RFC 8058 one-click, and a visible one).

The link carries a random token whose SHA-256 is stored with the delivery it was
mailed in, like every link mailed to signers; it needs no session and no CSRF token,
because the token itself is the proof. Using it ends the signer's consent at once, and
any update message still queued for them is cancelled before the worker sends it.
"""

from __future__ import annotations

import enum
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.mail import service as mail
from petition.petitions.models import Petition
from petition.signing import states
from petition.signing.models import Signature
from petition.signing.tokens import token_hash
from petition.updates.models import Update, UpdateDelivery
from petition.updates.service import CANCELLED

logger = logging.getLogger(__name__)


class LinkState(enum.StrEnum):
    # The link is good and the signer still gets updates.
    SUBSCRIBED = "subscribed"
    # The link is good and updates have stopped (by this link or another way).
    UNSUBSCRIBED = "unsubscribed"
    INVALID = "invalid"


def _delivery(session: Session, *, petition: Petition, token: str) -> UpdateDelivery | None:
    return session.scalars(
        sa.select(UpdateDelivery)
        .join(Update, Update.id == UpdateDelivery.update_id)
        .where(
            UpdateDelivery.unsubscribe_token_hash == token_hash(token),
            Update.petition_id == petition.id,
        )
    ).one_or_none()


def check(session: Session, *, petition: Petition, token: str) -> LinkState:
    """What the link would do; changes nothing (a GET, or a mail scanner, may ask)."""
    delivery = _delivery(session, petition=petition, token=token)
    if delivery is None:
        return LinkState.INVALID
    consents = session.scalar(
        sa.select(Signature.has_update_consent).where(Signature.id == delivery.signature_id)
    )
    if delivery.unsubscribed_at is not None or not consents:
        return LinkState.UNSUBSCRIBED
    return LinkState.SUBSCRIBED


def unsubscribe(session: Session, *, petition: Petition, token: str) -> LinkState:
    """Stop updates for the signer this link was mailed to.

    Returns ``UNSUBSCRIBED`` (done now, or before) or ``INVALID``. A second use of
    the link changes nothing and says what is true: no more updates.
    """
    delivery = _delivery(session, petition=petition, token=token)
    if delivery is None:
        return LinkState.INVALID
    if delivery.unsubscribed_at is None:
        delivery.unsubscribed_at = utcnow()
    states.end_update_consent(session, signature_id=delivery.signature_id)
    # Honoured by updates still waiting in the outbox, this one's or another's.
    queued = sa.select(UpdateDelivery.outbox_message_id).where(
        UpdateDelivery.signature_id == delivery.signature_id,
        UpdateDelivery.outbox_message_id.is_not(None),
    )
    cancelled = mail.cancel_queued(session, ids=queued, reason=CANCELLED)
    logger.info("update delivery %d unsubscribed; %d queued cancelled", delivery.id, cancelled)
    session.flush()
    return LinkState.UNSUBSCRIBED
