"""Organizer accounts, access to petitions, and what organizers do in the browser.

Every action an organizer takes is written to the audit log in the same
transaction as the action itself. Functions flush and never commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.admin.models import User, UserRole, user_petitions
from petition.audit import service as audit
from petition.db import utcnow
from petition.export import delivery
from petition.export.models import ExportBatch
from petition.i18n import N_, ServiceError
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus
from petition.signing import service as signing
from petition.signing.models import Signature, SignatureStatus

if TYPE_CHECKING:
    from argon2 import PasswordHasher

logger = logging.getLogger(__name__)

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
TOTP_ISSUER = "Petitions"


class AccountError(ServiceError, ValueError):
    """An account cannot be created or changed as asked; the message says why."""

    messages: ClassVar[Mapping[str, str]] = {
        "password-too-short": N_("The password must be at least %(min)s characters."),
        "password-too-long": N_("The password must be at most %(max)s characters."),
        "not-an-address": N_("That is not an email address."),
        "account-exists": N_("An account for %(email)s exists already."),
        "disable-self": N_("You cannot disable your own account."),
    }


class SlugTaken(ValueError):
    """Another petition already lives at this address."""


@cache
def _hasher() -> PasswordHasher:
    # OWASP Password Storage Cheat Sheet: argon2id, 19 MiB of memory, 2 passes, 1 lane.
    # argon2 (with its cffi bindings) and pyotp are imported where a login, a password
    # or a second factor needs them: a web worker that serves only readers and signers
    # never loads them (tests/test_imports.py).
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@cache
def _dummy_hash() -> str:
    # Verified against when no account matches, so an unknown address costs the
    # same argon2 work as a wrong password and the timing tells nothing.
    return _hasher().hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    """argon2id hash of ``password``; raises :class:`AccountError` if it is too weak."""
    if len(password) < PASSWORD_MIN:
        raise AccountError("password-too-short", min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        raise AccountError("password-too-long", max=PASSWORD_MAX)
    return _hasher().hash(password)


def _new_nonce() -> str:
    return secrets.token_urlsafe(24)


def create_user(session: Session, *, email: str, password: str, role: UserRole, actor: str) -> User:
    """Add an account, recorded as ``actor``'s. Raises :class:`AccountError` (address
    taken, weak password)."""
    address = normalize_email(email)
    if "@" not in address or len(address) > 320:
        raise AccountError("not-an-address")
    if find_user(session, address) is not None:
        raise AccountError("account-exists", email=address)
    user = User(
        email=address,
        password_hash=hash_password(password),
        role=role,
        session_nonce=_new_nonce(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, action="account.create", details={"user": user.id, "role": role}
    )
    logger.info("created %s account %d", role, user.id)
    return user


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Email addresses for the audit log's "user:<id>" actors, so people read names."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    if not ids:
        return {}
    rows = session.execute(sa.select(User.id, User.email).where(User.id.in_(ids)))
    return {f"user:{user_id}": email for user_id, email in rows}


def set_active(session: Session, *, user: User, is_active: bool, actor: str) -> None:
    """Disable an account (its sessions end at once) or enable it again.

    Raises :class:`AccountError` when an admin tries to disable their own account,
    which could leave the site without anyone to manage it.
    """
    if actor == user.actor and not is_active:
        raise AccountError("disable-self")
    user.is_active = is_active
    end_sessions(session, user=user)
    audit.record(
        session,
        actor=actor,
        action="account.enable" if is_active else "account.disable",
        details={"user": user.id},
    )


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(sa.select(User).where(User.email == normalize_email(email))).first()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.email)))


def verify_password(user: User, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active account for ``email`` if ``password`` is its password, else None.

    An unknown address, a disabled account and a wrong password take the same
    argon2 work and give the same answer, so neither the page nor its timing
    tells whether an account exists.
    """
    from argon2.exceptions import VerificationError

    user = find_user(session, email)
    if user is None or not user.is_active:
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return None
    if not verify_password(user, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        # Parameters were raised since this hash was made: upgrade it now that
        # the plain password is at hand.
        user.password_hash = _hasher().hash(password)
    return user


def record_login(session: Session, *, user: User) -> None:
    user.last_login_at = utcnow()
    audit.record(session, actor=user.actor, action="account.login")


def end_sessions(session: Session, *, user: User) -> None:
    """End every browser session of ``user`` (logout, password change)."""
    user.session_nonce = _new_nonce()
    session.flush()


def set_password(session: Session, *, user: User, password: str, actor: str) -> None:
    """Replace the password and end the account's sessions. Raises :class:`AccountError`."""
    user.password_hash = hash_password(password)
    end_sessions(session, user=user)
    audit.record(session, actor=actor, action="account.password", details={"user": user.id})


# --- second factor (TOTP) ----------------------------------------------------------


def new_totp_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app reads."""
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (this one or a neighbour, for clock drift),
    unless it is not a valid code or was already used."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    import pyotp

    totp = pyotp.TOTP(secret)
    now = utcnow()
    step_now = totp.timecode(now)
    for offset in (0, -1, 1):
        step = step_now + offset
        if secrets.compare_digest(totp.generate_otp(step), code):
            if last_step is not None and step <= last_step:
                return None  # replayed: a code is good once
            return step
    return None


def check_totp(session: Session, *, user: User, code: str) -> bool:
    """Whether ``code`` is a fresh valid code of ``user``'s second factor (it is used up)."""
    if user.totp_secret is None:
        return False
    step = _accepted_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    session.flush()
    return True


def enable_totp(session: Session, *, user: User, secret: str, code: str) -> bool:
    """Turn the second factor on once the user proved their app shows ``code``."""
    step = _accepted_step(secret, code, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    end_sessions(session, user=user)
    audit.record(session, actor=user.actor, action="account.totp_on")
    return True


def disable_totp(session: Session, *, user: User, actor: str) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    end_sessions(session, user=user)
    audit.record(session, actor=actor, action="account.totp_off", details={"user": user.id})


# --- who may see which petition ----------------------------------------------------


def can_access(user: User, petition: Petition) -> bool:
    return user.is_admin or any(p.id == petition.id for p in user.petitions)


def petition_for(session: Session, *, user: User, slug: str) -> Petition | None:
    """The petition at ``slug`` if ``user`` may run it (drafts included), else None.

    Callers answer 404 for None whether the petition is missing or someone
    else's, so that nobody learns which drafts exist.
    """
    petition = petitions.find(session, slug)
    if petition is None or not can_access(user, petition):
        return None
    return petition


def petitions_for(session: Session, *, user: User) -> list[Petition]:
    query = sa.select(Petition).order_by(Petition.status, Petition.id.desc())
    if not user.is_admin:
        query = query.join(user_petitions, user_petitions.c.petition_id == Petition.id).where(
            user_petitions.c.user_id == user.id
        )
    return list(session.scalars(query))


def grant_petition(session: Session, *, user: User, petition: Petition, actor: str) -> bool:
    """Let an organizer run ``petition``; False if they already could."""
    if any(p.id == petition.id for p in user.petitions):
        return False
    user.petitions.append(petition)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.grant",
        petition_id=petition.id,
        details={"user": user.id},
    )
    return True


def revoke_petition(session: Session, *, user: User, petition: Petition, actor: str) -> bool:
    if not any(p.id == petition.id for p in user.petitions):
        return False
    user.petitions = [p for p in user.petitions if p.id != petition.id]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.revoke",
        petition_id=petition.id,
        details={"user": user.id},
    )
    return True


# --- running petitions ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Saved:
    petition: Petition
    # True when the text changed after people signed, so a new version was made.
    is_new_version: bool


def create_petition(session: Session, *, user: User, source: petitions.PetitionSource) -> Petition:
    """Create a draft petition run by ``user``. Raises :class:`SlugTaken`."""
    if session.scalar(sa.select(sa.exists().where(Petition.slug == source.slug))):
        raise SlugTaken(source.slug)
    petition = petitions.publish(session, source=source, open_now=False)
    if not user.is_admin:
        user.petitions.append(petition)
    session.flush()
    audit.record(
        session,
        actor=user.actor,
        action="petition.create",
        petition_id=petition.id,
        details={"slug": petition.slug},
    )
    return petition


def update_petition(
    session: Session, *, user: User, petition: Petition, source: petitions.PetitionSource
) -> Saved:
    """Save an edit; text people signed is kept and the edit becomes a new version."""
    if source.slug != petition.slug:
        raise SlugTaken(source.slug)  # the address of a petition never changes
    before = petition.current_version
    before_id, before_number = (before.id, before.number) if before else (None, 0)
    petitions.publish(session, source=source, open_now=False)
    after = petition.current_version
    is_new = after is not None and after.id != before_id
    audit.record(
        session,
        actor=user.actor,
        action="petition.edit",
        petition_id=petition.id,
        details={
            "version": after.number if after else 0,
            "new_version": is_new and before_number > 0,
        },
    )
    return Saved(petition=petition, is_new_version=is_new and before_number > 0)


def import_petition(
    session: Session, *, user: User, source: petitions.PetitionSource
) -> tuple[Petition, bool]:
    """Create or update a petition from an uploaded file; (petition, created).

    Raises :class:`SlugTaken` when the slug belongs to a petition ``user`` does not run.
    """
    existing = petitions.find(session, source.slug)
    if existing is None:
        return create_petition(session, user=user, source=source), True
    if not can_access(user, existing):
        raise SlugTaken(source.slug)
    update_petition(session, user=user, petition=existing, source=source)
    return existing, False


def change_status(
    session: Session, *, user: User, petition: Petition, to: PetitionStatus
) -> Petition:
    """Move a petition's status (see petitions.service.TRANSITIONS) and log it.

    Raises :class:`petition.petitions.service.InvalidTransition`, and
    :class:`petition.export.delivery.NotAllDelivered` when a batch is not delivered yet.
    """
    before = petition.status
    if to == PetitionStatus.DELIVERED:
        # Delivered also means every batch was handed over: the export service checks
        # that and the status rules, as for `flask petition delivered`, and records it.
        return delivery.mark_petition_delivered(session, petition=petition, actor=user.actor)
    petitions.change_status(session, petition=petition, to=to)
    audit.record(
        session,
        actor=user.actor,
        action=f"petition.{to}",
        petition_id=petition.id,
        details={"from": str(before), "to": str(to)},
    )
    return petition


def search_signature(
    session: Session, *, user: User, petition: Petition, email: str
) -> Signature | None:
    """Look a signer up by email for an organizer; the search is in the audit log.

    The log says who searched which petition and how many signatures were found,
    never the address searched for.
    """
    found = signing.find_by_email(session, petition=petition, email=email)
    audit.record(
        session,
        actor=user.actor,
        action="signature.search",
        petition_id=petition.id,
        affected=1 if found else 0,
        details={"results": 1 if found else 0},
    )
    return found


def withdraw_signature(session: Session, *, user: User, signature: Signature) -> bool:
    """Withdraw a signature on its signer's request to an organizer."""
    done = signing.withdraw_signature(session, signature=signature)
    if done:
        audit.record(
            session,
            actor=user.actor,
            action="signature.withdraw",
            petition_id=signature.petition_id,
            affected=1,
            details={"signature": signature.id},
            reason="the signer asked an organizer",
        )
    return done


class WithdrawnSignature(ServiceError, ValueError):
    """The signature was withdrawn: its details are erased and stay so."""

    messages: ClassVar[Mapping[str, str]] = {
        "keeps-no-name": N_("A withdrawn signature keeps no name."),
    }


def correct_name(session: Session, *, user: User, signature: Signature, name: str) -> None:
    """Correct a signer's name at their request. Raises :class:`WithdrawnSignature`."""
    if signature.status == SignatureStatus.WITHDRAWN:
        # Said here, in the organizer's words; signing.correct_name refuses it too.
        raise WithdrawnSignature("keeps-no-name")
    signing.correct_name(session, signature=signature, name=name)
    audit.record(
        session,
        actor=user.actor,
        action="signature.rename",
        petition_id=signature.petition_id,
        affected=1,
        details={"signature": signature.id},
        reason="the signer asked an organizer",
    )


def record_download(session: Session, *, user: User, batch: ExportBatch) -> None:
    """Note in the audit log that ``user`` downloaded a batch (its signers' data)."""
    audit.record(
        session,
        actor=user.actor,
        action="export.download",
        petition_id=batch.petition_id,
        affected=batch.signature_count,
        details={"batch": batch.sequence},
    )
