"""Partner keys for the signatures API: create (shown once), authenticate, revoke."""

from __future__ import annotations

import dataclasses
import enum
import logging
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.api.models import ApiKey
from petition.audit import service as audit
from petition.db import utcnow
from petition.petitions.models import Petition
from petition.signing.tokens import token_hash

logger = logging.getLogger(__name__)

# A recognizable prefix lets secret scanners and people tell a key from other tokens.
KEY_PREFIX = "ptk_"
NAME_MAX = 100


class KeyState(enum.StrEnum):
    VALID = "valid"
    MISSING = "missing"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    OTHER_PETITION = "other_petition"


@dataclasses.dataclass(frozen=True)
class KeyCheck:
    state: KeyState
    key: ApiKey | None = None


class KeyNotFound(LookupError):
    """No API key has that id."""


def create_key(
    session: Session, *, petition: Petition, name: str, actor: str
) -> tuple[ApiKey, str]:
    """A new key for partner ``name`` on ``petition``: the row, and the key to hand over
    (recorded in the audit log as ``actor``'s, without the key).

    The key itself is returned once and never stored, only its SHA-256 (it is random
    and long, so a fast hash is enough: there is nothing to guess).
    Raises ``ValueError`` for an empty or over-long name.
    """
    clean = " ".join(name.split())
    if not clean or len(clean) > NAME_MAX:
        raise ValueError(f"a partner name has 1 to {NAME_MAX} characters")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(petition_id=petition.id, name=clean, key_hash=token_hash(secret))
    key.petition = petition
    session.add(key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api.key_create",
        petition_id=petition.id,
        details={"key_id": key.id, "name": key.name},
    )
    logger.info("api key %d created for %s on %s", key.id, clean, petition.slug)
    return key, secret


def check_key(session: Session, *, presented: str | None, petition: Petition) -> KeyCheck:
    """Whether ``presented`` is a live key for ``petition``. Reads only.

    Looked up by its hash, so the comparison leaks nothing useful through timing.
    """
    if not presented:
        return KeyCheck(KeyState.MISSING)
    key = session.scalars(
        sa.select(ApiKey).where(ApiKey.key_hash == token_hash(presented))
    ).one_or_none()
    if key is None:
        return KeyCheck(KeyState.UNKNOWN)
    if key.is_revoked:
        return KeyCheck(KeyState.REVOKED, key)
    if key.petition_id != petition.id:
        return KeyCheck(KeyState.OTHER_PETITION, key)
    return KeyCheck(KeyState.VALID, key)


def revoke_key(session: Session, *, key_id: int, actor: str) -> ApiKey:
    """Revoke key ``key_id`` at once (again is harmless), recorded as ``actor``'s.

    Raises :class:`KeyNotFound`.
    """
    key = session.get(ApiKey, key_id)
    if key is None:
        raise KeyNotFound(key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        logger.info("api key %d (%s) revoked", key.id, key.name)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api.key_revoke",
        petition_id=key.petition_id,
        details={"key_id": key.id, "name": key.name},
    )
    return key


def list_keys(session: Session, *, petition: Petition | None = None) -> list[ApiKey]:
    query = sa.select(ApiKey).order_by(ApiKey.id)
    if petition is not None:
        query = query.where(ApiKey.petition_id == petition.id)
    return list(session.scalars(query))
