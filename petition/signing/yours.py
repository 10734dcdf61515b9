"""What the signer's own page ("your signature") shows: where their signature stands.

The page opens from the withdraw link in every mail a signer receives (the link never
expires). It tells the holder of that link about their own signature only: nothing
of any other signer, and never why a signature is held or was set aside (a flagged
sender must learn nothing it could adapt to). Reads only.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.petitions.models import Petition
from petition.signing.models import LinkPurpose, Signature, SignatureLink, SignatureStatus
from petition.signing.tokens import token_hash


class Standing(enum.StrEnum):
    """Where a signature stands, in the words its own page uses."""

    # Not confirmed yet (flagged or not: a pending signature's page never says).
    WAITING = "waiting"
    COUNTED = "counted"
    # Confirmed, and held by the quiet flags until a moderator decides.
    HELD = "held"
    # Invalidated by a moderator: it does not count.
    NOT_COUNTED = "not_counted"
    WITHDRAWN = "withdrawn"


@dataclasses.dataclass(frozen=True)
class OwnSignature:
    """The few facts the page needs; no name, address or other personal detail."""

    standing: Standing
    # The signature's number once counted (kept after a withdrawal): where a batch holds it.
    sequence: int | None


def _standing(status: SignatureStatus, *, is_held: bool) -> Standing:
    if status == SignatureStatus.WITHDRAWN:
        return Standing.WITHDRAWN
    if status == SignatureStatus.INVALIDATED:
        return Standing.NOT_COUNTED
    if status == SignatureStatus.PENDING:
        return Standing.WAITING
    # Verified: the counting rule (COUNTS_WHEN) without waiting for the fold, which
    # adds it to the count within seconds.
    return Standing.HELD if is_held else Standing.COUNTED


def own_signature(session: Session, *, petition: Petition, token: str) -> OwnSignature | None:
    """The signature whose withdraw link is ``token``, or None for a link we never
    mailed (for this petition). The token is found by its SHA-256, like every link
    (see :mod:`petition.signing.tokens`)."""
    links = cast(sa.Table, SignatureLink.__table__)
    signatures = cast(sa.Table, Signature.__table__)
    row = session.execute(
        sa.select(signatures.c.status, signatures.c.is_held, signatures.c.sequence)
        .join(links, links.c.signature_id == signatures.c.id)
        .where(
            links.c.token_hash == token_hash(token),
            links.c.purpose == LinkPurpose.WITHDRAW.value,
            signatures.c.petition_id == petition.id,
        )
    ).one_or_none()
    if row is None:
        return None
    return OwnSignature(
        standing=_standing(SignatureStatus(row.status), is_held=bool(row.is_held)),
        sequence=row.sequence,
    )
