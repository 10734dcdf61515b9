"""What a link mailed to a signer does: confirm a signature or withdraw it.

A signature has many links (``signature_links``: every one ever mailed works until
used or expired), so a stranger who signs again with someone's address adds links and
never disables the ones its owner holds. Each use is one conditional UPDATE that checks
and changes together, so two uses at the same moment act once.

Every function here flushes and never commits: the request owns the transaction.
"""

from __future__ import annotations

import enum
import functools
import logging
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.petitions.models import Petition
from petition.signing.models import LinkPurpose, Signature, SignatureLink, SignatureStatus
from petition.signing.tokens import new_token, token_hash

logger = logging.getLogger(__name__)


class TokenState(enum.StrEnum):
    """What a link mailed to a signer does now; only its holder learns it."""

    VALID = "valid"
    EXPIRED = "expired"
    # No such link for this petition (mistyped, or its signature was invalidated).
    INVALID = "invalid"
    # A confirm link of a signature already confirmed (through this link or another).
    CONFIRMED = "confirmed"
    # Any link of a signature withdrawn (through this link, another, or an organizer).
    WITHDRAWN = "withdrawn"


def link_state(
    session: Session, *, petition: Petition, token: str, purpose: LinkPurpose
) -> TokenState:
    """What the link ``token`` (mailed for ``purpose``) would do now. Reads only.

    The token is found by its SHA-256 (see :mod:`petition.signing.tokens` for why
    that look-up leaks nothing useful through its timing).
    """
    links = cast(sa.Table, SignatureLink.__table__)
    signatures = cast(sa.Table, Signature.__table__)
    row = session.execute(
        sa.select(links.c.expires_at, signatures.c.status)
        .join(signatures, signatures.c.id == links.c.signature_id)
        .where(
            links.c.token_hash == token_hash(token),
            links.c.purpose == purpose.value,
            signatures.c.petition_id == petition.id,
        )
    ).one_or_none()
    if row is None:
        return TokenState.INVALID
    status = SignatureStatus(row.status)
    if status == SignatureStatus.WITHDRAWN:
        return TokenState.WITHDRAWN
    if purpose == LinkPurpose.CONFIRM and status == SignatureStatus.VERIFIED:
        return TokenState.CONFIRMED
    if purpose == LinkPurpose.CONFIRM and status != SignatureStatus.PENDING:
        return TokenState.INVALID  # invalidated by a moderator: nothing to confirm
    if row.expires_at is not None and row.expires_at <= utcnow():
        return TokenState.EXPIRED
    return TokenState.VALID


def check_confirm_token(session: Session, *, petition: Petition, token: str) -> TokenState:
    """Whether ``token`` would confirm a signature now. Reads only."""
    return link_state(session, petition=petition, token=token, purpose=LinkPurpose.CONFIRM)


def check_withdraw_token(session: Session, *, petition: Petition, token: str) -> TokenState:
    """Whether ``token`` would withdraw a signature now. Reads only."""
    return link_state(session, petition=petition, token=token, purpose=LinkPurpose.WITHDRAW)


def _live_link(purpose: LinkPurpose) -> sa.ScalarSelect[int]:
    """The signature whose unused, unexpired ``purpose`` link hashes to :link_hash."""
    links = cast(sa.Table, SignatureLink.__table__)
    return (
        sa.select(links.c.signature_id)
        .where(
            links.c.token_hash == sa.bindparam("link_hash"),
            links.c.purpose == purpose.value,
            links.c.used_at.is_(None),
            sa.or_(
                links.c.expires_at.is_(None),
                links.c.expires_at > sa.bindparam("now", type_=links.c.expires_at.type),
            ),
        )
        .scalar_subquery()
    )


@functools.cache
def _use_link_statement() -> sa.Update:
    links = cast(sa.Table, SignatureLink.__table__)
    return (
        sa.update(links)
        .where(links.c.token_hash == sa.bindparam("link_hash"), links.c.used_at.is_(None))
        .values(used_at=sa.bindparam("now", type_=links.c.used_at.type))
    )


@functools.cache
def _confirm_statement() -> sa.Update:
    """The conditional UPDATE of :func:`confirm`, built once: on the table, so no ORM
    bookkeeping runs for rows this session never loaded (the ORM-enabled statement,
    built per request, was most of a confirmation's time)."""
    table = cast(sa.Table, Signature.__table__)
    return (
        sa.update(table)
        .where(
            table.c.id == _live_link(LinkPurpose.CONFIRM),
            table.c.petition_id == sa.bindparam("petition"),
            table.c.status == SignatureStatus.PENDING.value,
        )
        .values(
            status=SignatureStatus.VERIFIED.value,
            verified_at=sa.bindparam("now"),
            confirm_expires_at=None,
        )
        .returning(table.c.id)
    )


def confirm(session: Session, *, petition: Petition, token: str) -> TokenState:
    """Verify the signature that ``token`` was mailed for; the link is used up.

    One conditional UPDATE does the check and the change, so two confirmations at
    the same moment (through one link or two) verify once. The signature's other
    confirm links then say it is confirmed. The count rises at the next fold.
    """
    params = {"petition": petition.id, "link_hash": token_hash(token), "now": utcnow()}
    verified = session.execute(_confirm_statement(), params).scalar_one_or_none()
    if verified is not None:
        session.execute(_use_link_statement(), params)
        logger.info("signature %d verified on petition %s", verified, petition.slug)
        return TokenState.VALID
    return check_confirm_token(session, petition=petition, token=token)


@functools.cache
def _withdraw_statement() -> sa.Update:
    table = cast(sa.Table, Signature.__table__)
    return (
        sa.update(table)
        .where(
            table.c.id == _live_link(LinkPurpose.WITHDRAW),
            table.c.petition_id == sa.bindparam("petition"),
            table.c.status != SignatureStatus.WITHDRAWN.value,
        )
        .values(
            withdrawn_at=sa.bindparam("now", type_=table.c.withdrawn_at.type),
            **ERASED_ON_WITHDRAWAL,
        )
        .returning(table.c.id)
    )


def withdraw(session: Session, *, petition: Petition, token: str) -> TokenState:
    """Withdraw a signature and erase the signer's personal data.

    The row stays (without name, address or postcode) so that exports can list
    the withdrawal by sequence number; the count drops at the next fold. Its links
    stay too (they hold nothing but hashes of random tokens), so every other link
    of the signature then says it was withdrawn.
    """
    params = {"petition": petition.id, "link_hash": token_hash(token), "now": utcnow()}
    withdrawn = session.execute(_withdraw_statement(), params).scalar_one_or_none()
    if withdrawn is None:
        return check_withdraw_token(session, petition=petition, token=token)
    session.execute(_use_link_statement(), params)
    logger.info("signature %d withdrawn from petition %s", withdrawn, petition.slug)
    return TokenState.VALID


def own_page_url(base_url: str, slug: str, token: str) -> str:
    """The address a withdraw link's token opens: the signer's own page."""
    return f"{base_url.rstrip('/')}/p/{slug}/withdraw/{token}"


def add_withdraw_links(session: Session, *, signature_ids: list[int]) -> dict[int, str]:
    """A new withdraw link for each signature, for a mail about it that is being
    queued (the delivery mail): returns each one's raw token, which only the mail holds.

    Every mail carries a link of its own, as signing again does, so that no mail's
    link depends on another's.
    """
    now = utcnow()
    tokens: dict[int, str] = {}
    rows = []
    for signature_id in signature_ids:
        token, hashed = new_token()
        tokens[signature_id] = token
        rows.append(
            {
                "signature_id": signature_id,
                "purpose": LinkPurpose.WITHDRAW,
                "token_hash": hashed,
                "created_at": now,
                "expires_at": None,
            }
        )
    if rows:
        session.execute(sa.insert(SignatureLink), rows)
    return tokens


# What a withdrawal keeps of a signature: its status and sequence, no personal data.
ERASED_ON_WITHDRAWAL: dict[str, object] = {
    "status": SignatureStatus.WITHDRAWN,
    "name": None,
    "email": None,
    "canonical_email": None,
    "postcode": None,
    "ip_hash": None,
    "is_public": False,
    "has_update_consent": False,
    "has_delivery_consent": False,
    "confirm_expires_at": None,
}
