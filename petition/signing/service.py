"""Sign; an organizer's withdrawal or correction on a signer's request.

What the links mailed to a signer do (confirm, withdraw) lives in
:mod:`petition.signing.links`; counting in :mod:`petition.signing.counts`.

Every function here flushes and never commits: the request or the command that
calls it owns the transaction, so a signature and its email land together or not
at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import logging
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from petition import addresses
from petition.abuse import mailbox as abuse_mailbox
from petition.abuse import screening as abuse_screening
from petition.abuse.counters import Check
from petition.abuse.models import FlagReason, join_reasons
from petition.config import Settings
from petition.db import utcnow
from petition.mail import service as mail
from petition.mail.models import MailPriority
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus
from petition.signing import links
from petition.signing.models import (
    LinkPurpose,
    Signature,
    SignatureLink,
    SignatureSource,
    SignatureStatus,
)
from petition.signing.tokens import new_token

logger = logging.getLogger(__name__)


class SignOutcome(enum.StrEnum):
    NEW = "new"
    ALREADY_SIGNED = "already_signed"


class PetitionClosed(Exception):
    """The petition does not take signatures now."""


@dataclasses.dataclass(frozen=True)
class Signer:
    """What a person typed into the form, already validated and normalized."""

    name: str
    email: str
    country: str
    postcode: str | None = None
    is_public: bool = False
    has_update_consent: bool = False
    has_delivery_consent: bool = False


@dataclasses.dataclass(frozen=True)
class Client:
    """Where a signature came from."""

    ip: str | None
    source: SignatureSource = SignatureSource.PAGE
    origin: str | None = None
    locale: str = "en"


@dataclasses.dataclass(frozen=True)
class SignResult:
    outcome: SignOutcome
    signature_id: int


# The values a new signature binds; the insert below selects them as parameters.
_SIGNATURE_VALUES = (
    "petition_id",
    "version_id",
    "name",
    "email",
    "canonical_email",
    "postcode",
    "country",
    "is_public",
    "has_update_consent",
    "has_delivery_consent",
    "locale",
    "status",
    "source",
    "source_origin",
    "ip_hash",
    "flag_reasons",
    "is_held",
    "confirm_expires_at",
    "created_at",
)


@functools.cache
def _insert_if_open(dialect: str) -> sa.Insert:
    """``INSERT … SELECT <values> WHERE <the petition is open> ON CONFLICT DO NOTHING
    RETURNING id``.

    The database decides, in the insert itself, both whether the petition takes
    signatures now (so a petition row kept a few seconds by the page cache never
    admits a signature after closing) and whether the address has signed: two
    concurrent submits of one address both reach the database, the unique
    constraint lets exactly one insert, and the loser is told nothing was written
    instead of failing. Built once per dialect: each signature only binds its values
    (building the statement per request was a visible share of the sign path).
    """
    table = cast(sa.Table, Signature.__table__)
    petitions_table = cast(sa.Table, Petition.__table__)
    values = sa.select(
        *(sa.bindparam(name, type_=table.c[name].type) for name in _SIGNATURE_VALUES)
    ).where(
        sa.exists().where(
            petitions_table.c.id == sa.bindparam("petition_id"),
            petitions_table.c.current_version_id == sa.bindparam("version_id"),
            petitions_table.c.status == PetitionStatus.OPEN.value,
            sa.or_(
                petitions_table.c.closes_at.is_(None),
                petitions_table.c.closes_at > sa.bindparam("created_at"),
            ),
        )
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .from_select(_SIGNATURE_VALUES, values, include_defaults=True)
        .on_conflict_do_nothing(index_elements=["petition_id", "canonical_email"])
        .returning(table.c.id)
    )


@functools.cache
def _signed_statement() -> sa.Update:
    """The address's signature on the petition, its pending expiry moved to the newest
    link: ``UPDATE … RETURNING id, status``, run after every insert attempt.

    It also locks the row (PostgreSQL) or holds the write lock (SQLite) until the
    transaction ends, so the status returned holds while the links are added. A new
    signature meets it too, though its expiry is already right: a new and an
    already-signed address run the very same statements (insert, this, the links,
    the outbox row), because answering the second more slowly would tell anyone
    timing the form who has signed (issue 20, point 5).
    """
    table = cast(sa.Table, Signature.__table__)
    return (
        sa.update(table)
        .where(
            table.c.petition_id == sa.bindparam("b_petition_id"),
            table.c.canonical_email == sa.bindparam("b_canonical_email"),
        )
        .values(
            confirm_expires_at=sa.case(
                (
                    table.c.status == SignatureStatus.PENDING.value,
                    sa.bindparam("b_expires_at", type_=table.c.confirm_expires_at.type),
                ),
                else_=table.c.confirm_expires_at,
            )
        )
        .returning(table.c.id, table.c.status)
    )


# Which signatures signing again adds a link of each purpose to: a confirm link only
# while it waits for confirmation, a withdraw link while it may count. (A withdraw link
# mailed earlier still works on an invalidated signature, see link_state.)
_LINK_FOR = {
    LinkPurpose.CONFIRM: (SignatureStatus.PENDING,),
    LinkPurpose.WITHDRAW: (SignatureStatus.PENDING, SignatureStatus.VERIFIED),
}


@functools.cache
def _add_link_statement() -> sa.Insert:
    """Add one link to a signature, if its status takes links of that purpose
    (:data:`_LINK_FOR`): the same statement, run twice, for every sign attempt."""
    links = cast(sa.Table, SignatureLink.__table__)
    signatures = cast(sa.Table, Signature.__table__)
    # Cast: PostgreSQL cannot type a bare parameter used both as a value and in a test.
    purpose = sa.cast(sa.bindparam("link_purpose"), sa.String(16))
    takes = sa.or_(
        *(
            sa.and_(
                purpose == kind.value,
                # Not IN (…): its expanding parameters refuse executemany.
                sa.or_(*(signatures.c.status == status.value for status in statuses)),
            )
            for kind, statuses in _LINK_FOR.items()
        )
    )
    return sa.insert(links).from_select(
        ["signature_id", "purpose", "token_hash", "created_at", "expires_at"],
        sa.select(
            signatures.c.id,
            purpose,
            sa.bindparam("link_hash", type_=links.c.token_hash.type),
            sa.bindparam("now", type_=links.c.created_at.type),
            sa.bindparam("link_expires_at", type_=links.c.expires_at.type),
        ).where(signatures.c.id == sa.bindparam("signature_id"), takes),
    )


def sign(
    session: Session,
    *,
    petition: Petition,
    signer: Signer,
    client: Client,
    ip_key: bytes,
    base_url: str,
    token_ttl: dt.timedelta,
    flags: frozenset[FlagReason] = frozenset(),
) -> SignResult:
    """Record a pending signature and queue its confirmation email.

    If the address already signed, nothing new is stored but links; the mailbox gets
    an "already signed" email instead, with links of its own that never replace those
    of earlier mails, and the caller must answer exactly as for a new signature so
    that nobody can learn whether an address has signed.

    Callers screen first with :func:`petition.abuse.screening.screen` (the mail
    limit per mailbox, and the flags). ``flags`` hold a new signature for a
    moderator: the signer is treated exactly the same, but once confirmed it does
    not count until released.

    Raises :class:`PetitionClosed` when the petition is not open.
    """
    if not petition.is_open or petition.current_version_id is None:
        raise PetitionClosed(petition.slug)
    now = utcnow()
    expires_at = now + token_ttl
    confirm_token, confirm_hash = new_token()
    withdraw_token, withdraw_hash = new_token()
    canonical = addresses.canonical(signer.email)
    inserted = session.execute(
        _insert_if_open(session.get_bind().dialect.name),
        {
            "petition_id": petition.id,
            "version_id": petition.current_version_id,
            "name": signer.name,
            "email": signer.email,
            "canonical_email": canonical,
            "postcode": signer.postcode,
            "country": signer.country,
            "is_public": signer.is_public,
            "has_update_consent": signer.has_update_consent,
            "has_delivery_consent": signer.has_delivery_consent,
            "locale": client.locale,
            "status": SignatureStatus.PENDING,
            "source": client.source,
            "source_origin": client.origin,
            "ip_hash": addresses.ip_hash(ip_key, client.ip),
            "flag_reasons": join_reasons(flags),
            "is_held": bool(flags),
            "confirm_expires_at": expires_at,
            "created_at": now,
        },
    ).scalar_one_or_none()
    row = session.execute(
        _signed_statement(),
        {
            "b_petition_id": petition.id,
            "b_canonical_email": canonical,
            "b_expires_at": expires_at,
        },
    ).one_or_none()
    if row is None:
        # Nothing inserted and no signature of this address: the petition closed
        # since the caller looked.
        raise PetitionClosed(petition.slug)
    session.execute(
        _add_link_statement(),
        [
            {
                "signature_id": row.id,
                "link_purpose": LinkPurpose.CONFIRM.value,
                "link_hash": confirm_hash,
                "now": now,
                "link_expires_at": expires_at,
            },
            {
                "signature_id": row.id,
                "link_purpose": LinkPurpose.WITHDRAW.value,
                "link_hash": withdraw_hash,
                "now": now,
                "link_expires_at": None,
            },
        ],
    )
    links = _Links(base_url, petition.slug)
    title = petitions.title_in(session, petition, client.locale)
    if inserted is not None:
        mail.enqueue(
            session,
            template="confirm",
            to=signer.email,
            locale=client.locale,
            payload={
                "name": signer.name,
                "petition_title": title,
                "confirm_url": links.confirm(confirm_token),
                "withdraw_url": links.withdraw(withdraw_token),
                "expires_days": token_ttl.days,
            },
            priority=MailPriority.HIGH,
        )
        return SignResult(SignOutcome.NEW, row.id)

    # The person typing may not be the owner of the mailbox: only the mailbox
    # learns that it has signed, and only it receives the new links, which work
    # beside those of its earlier mails.
    status = SignatureStatus(row.status)
    payload: dict[str, object] = {"petition_title": title, "status": str(status)}
    if status in _LINK_FOR[LinkPurpose.WITHDRAW]:
        payload["withdraw_url"] = links.withdraw(withdraw_token)
    if status in _LINK_FOR[LinkPurpose.CONFIRM]:
        payload["confirm_url"] = links.confirm(confirm_token)
        payload["expires_days"] = token_ttl.days
    mail.enqueue(
        session,
        template="already_signed",
        to=signer.email,
        locale=client.locale,
        payload=payload,
        priority=MailPriority.HIGH,
    )
    return SignResult(SignOutcome.ALREADY_SIGNED, row.id)


def take(
    session: Session,
    *,
    petition: Petition,
    signer: Signer,
    client: Client,
    settings: Settings,
    form: FormTraps | None,
    burst_by_ip: bool = True,
    admit: list[Check] | None = None,
) -> None:
    """The one way a signature comes in, from the page, the widget or the API.

    Screens the attempt (:func:`petition.abuse.screening.screen`: the quiet flags),
    counts its mail against the mailbox's limit in this transaction
    (:func:`petition.abuse.mailbox.allow_mail`; over it, nothing is stored or sent),
    then signs, flagged or not. The caller answers the same whatever happened (a 429
    would tell anyone that the address was used). ``form`` carries our HTML form's bot traps (None for the
    API); ``burst_by_ip`` is false where the address is a partner's server.
    ``admit``: the hard rate limits, when the caller has not checked them yet (the
    page and the widget: :func:`petition.abuse.limits.signing_checks`), checked with
    the screening's counters in one round trip; over them, ``TooManyRequests``.

    Raises :class:`PetitionClosed` when the petition is not open.
    """
    key = addresses.ip_hash_key(settings.secret_key)
    screening = abuse_screening.screen(
        petition_id=petition.id,
        email=signer.email,
        ip_hash=addresses.ip_hash(key, client.ip) if burst_by_ip else None,
        honeypot=form.honeypot if form else None,
        shown_token=form.shown_token if form else None,
        has_form=form is not None,
        admit=admit,
    )
    if not abuse_mailbox.allow_mail(
        session,
        canonical_email=addresses.canonical(signer.email),
        limits=settings.ratelimit_mail_per_email,
        secret_key=settings.secret_key,
    ):
        logger.warning("sign on petition %d not taken: mail limit of the address", petition.id)
        return
    sign(
        session,
        petition=petition,
        signer=signer,
        client=client,
        ip_key=key,
        base_url=settings.base_url,
        token_ttl=dt.timedelta(days=settings.token_ttl_days),
        flags=screening.flags,
    )


@dataclasses.dataclass(frozen=True)
class FormTraps:
    """What our sign form's bot traps returned: the honeypot and the signed shown-at time."""

    honeypot: str | None
    shown_token: str | None


@dataclasses.dataclass(frozen=True)
class _Links:
    base_url: str
    slug: str

    def confirm(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/p/{self.slug}/confirm/{token}"

    def withdraw(self, token: str) -> str:
        return links.own_page_url(self.base_url, self.slug, token)


def find_by_email(session: Session, *, petition: Petition, email: str) -> Signature | None:
    """The signature of ``email`` on ``petition`` (compared in canonical form), if any."""
    try:
        canonical = addresses.canonical(addresses.normalize(email, check_deliverability=False))
    except addresses.InvalidAddress:
        return None
    return session.scalars(
        sa.select(Signature).where(
            Signature.petition_id == petition.id, Signature.canonical_email == canonical
        )
    ).one_or_none()


def get_signature(session: Session, *, petition: Petition, signature_id: int) -> Signature | None:
    return session.scalars(
        sa.select(Signature).where(
            Signature.petition_id == petition.id, Signature.id == signature_id
        )
    ).one_or_none()


def withdraw_signature(session: Session, *, signature: Signature) -> bool:
    """Withdraw a signature on its signer's request to an organizer (erasing their
    data exactly as the withdraw link does); False if it was already withdrawn."""
    if signature.status == SignatureStatus.WITHDRAWN:
        return False
    for key, value in links.ERASED_ON_WITHDRAWAL.items():
        setattr(signature, key, value)
    signature.withdrawn_at = utcnow()
    session.flush()
    logger.info("signature %d withdrawn by an organizer", signature.id)
    return True


def correct_name(session: Session, *, signature: Signature, name: str) -> None:
    """Replace the name of a signature (the signer asked for a correction).

    ``name`` must already be cleaned (``petition.signing.forms.clean_name``).
    Raises ``ValueError`` for a withdrawn signature, which has no name to correct.
    """
    if signature.status == SignatureStatus.WITHDRAWN:
        raise ValueError("a withdrawn signature keeps no name")
    signature.name = name
    session.flush()
