"""sign, confirm, withdraw and the count fold, on both databases."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope, utcnow
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition
from petition.signing import counts, links, service
from petition.signing.models import LinkPurpose, Signature, SignatureLink, SignatureStatus
from petition.signing.tokens import token_hash

TTL = dt.timedelta(days=7)
KEY = b"test-ip-key"


def signer(email: str = "layla@example.org", **overrides: object) -> service.Signer:
    values: dict[str, object] = {"name": "Layla Haddad", "email": email, "country": "SY"}
    values.update(overrides)
    return service.Signer(**values)  # type: ignore[arg-type]


def do_sign(app: Flask, petition: Petition, who: service.Signer) -> service.SignResult:
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        return service.sign(
            session,
            petition=fresh,
            signer=who,
            client=service.Client(ip="203.0.113.7"),
            ip_key=KEY,
            base_url="http://localhost",
            token_ttl=TTL,
        )


def signature_links(app: Flask) -> list[SignatureLink]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(SignatureLink).order_by(SignatureLink.id)))


def withdraw_token_of(message: OutboxMessage) -> str:
    assert message.payload is not None
    return str(message.payload["withdraw_url"]).rsplit("/", 1)[1]


def outbox(app: Flask) -> list[OutboxMessage]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def signatures(app: Flask) -> list[Signature]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(Signature).order_by(Signature.id)))


def confirm_token_of(app: Flask, message: OutboxMessage) -> str:
    assert message.payload is not None
    return str(message.payload["confirm_url"]).rsplit("/", 1)[1]


def in_session(
    app: Flask, fn: Callable[..., object], petition: Petition, **kwargs: object
) -> object:
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        return fn(session, petition=fresh, **kwargs)


def fold(app: Flask) -> int:
    with app.app_context(), session_scope() as session:
        return counts.fold_counts(session)


def count(app: Flask, petition: Petition) -> int:
    with app.app_context(), session_scope(write=False) as session:
        return session.get(Petition, petition.id).signature_count  # type: ignore[union-attr]


def test_sign_stores_a_pending_signature_and_queues_one_confirmation(
    app: Flask, petition: Petition
) -> None:
    result = do_sign(app, petition, signer(postcode="1010", is_public=True))
    assert result.outcome == service.SignOutcome.NEW
    [row] = signatures(app)
    assert row.status == SignatureStatus.PENDING
    assert (row.name, row.email, row.canonical_email, row.country) == (
        "Layla Haddad",
        "layla@example.org",
        "layla@example.org",
        "SY",
    )
    assert row.version_id == petition.current_version_id
    # Only hashes of the mailed tokens, and of the IP, are stored.
    [message] = outbox(app)
    assert message.template == "confirm"
    token = confirm_token_of(app, message)
    confirm_link, withdraw_link = signature_links(app)
    assert (confirm_link.signature_id, confirm_link.purpose) == (row.id, LinkPurpose.CONFIRM)
    assert confirm_link.token_hash == token_hash(token)
    assert (withdraw_link.purpose, withdraw_link.expires_at) == (LinkPurpose.WITHDRAW, None)
    assert withdraw_link.token_hash == token_hash(withdraw_token_of(message))
    assert token not in repr(row.__dict__) + repr(confirm_link.__dict__)
    assert confirm_link.expires_at == row.confirm_expires_at
    assert row.ip_hash is not None
    assert "203.0.113.7" not in row.ip_hash
    assert row.confirm_expires_at is not None
    assert row.confirm_expires_at - utcnow() > TTL - dt.timedelta(minutes=1)


def test_signing_again_sends_already_signed_and_stores_nothing_new(
    app: Flask, petition: Petition
) -> None:
    do_sign(app, petition, signer("j.doe+news@gmail.com"))
    again = do_sign(app, petition, signer("JDoe@googlemail.com", name="Someone Else"))
    assert again.outcome == service.SignOutcome.ALREADY_SIGNED
    [row] = signatures(app)
    assert row.name == "Layla Haddad"
    first, second = outbox(app)
    assert (first.template, second.template) == ("confirm", "already_signed")
    assert second.to_address == "JDoe@googlemail.com"
    # The second mail carries links of its own; those of the first still work.
    new_token = confirm_token_of(app, second)
    old_token = confirm_token_of(app, first)
    assert new_token != old_token
    assert in_session(app, links.confirm, petition, token=old_token) == links.TokenState.VALID
    assert in_session(app, links.confirm, petition, token=new_token) == links.TokenState.CONFIRMED


def test_already_verified_signer_gets_no_confirm_link(app: Flask, petition: Petition) -> None:
    do_sign(app, petition, signer())
    in_session(app, links.confirm, petition, token=confirm_token_of(app, outbox(app)[0]))
    do_sign(app, petition, signer())
    message = outbox(app)[-1]
    assert message.template == "already_signed"
    assert message.payload is not None
    assert "confirm_url" not in message.payload
    assert "withdraw_url" in message.payload


def test_confirm_verifies_once_and_the_fold_counts_once(app: Flask, petition: Petition) -> None:
    do_sign(app, petition, signer())
    token = confirm_token_of(app, outbox(app)[0])
    assert (
        in_session(app, links.check_confirm_token, petition, token=token) == links.TokenState.VALID
    )
    assert in_session(app, links.confirm, petition, token=token) == links.TokenState.VALID
    assert in_session(app, links.confirm, petition, token=token) == links.TokenState.CONFIRMED
    assert count(app, petition) == 0  # counted at the fold, not at confirmation
    assert fold(app) == 1
    assert fold(app) == 0
    assert count(app, petition) == 1
    [row] = signatures(app)
    assert (row.status, row.is_counted, row.sequence) == (SignatureStatus.VERIFIED, True, 1)
    assert signature_links(app)[0].used_at is not None


def test_expired_token_does_not_confirm(app: Flask, petition: Petition) -> None:
    do_sign(app, petition, signer())
    token = confirm_token_of(app, outbox(app)[0])
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(SignatureLink)
            .where(SignatureLink.purpose == LinkPurpose.CONFIRM)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert in_session(app, links.confirm, petition, token=token) == links.TokenState.EXPIRED
    assert signatures(app)[0].status == SignatureStatus.PENDING


def test_token_for_another_petition_does_not_confirm(app: Flask, petition: Petition) -> None:
    from petition.petitions import service as petitions

    do_sign(app, petition, signer())
    token = confirm_token_of(app, outbox(app)[0])
    with app.app_context(), session_scope() as session:
        other = petitions.publish(
            session, source=petitions.PetitionSource(slug="other", title="Other", body="Text")
        )
        assert links.confirm(session, petition=other, token=token) == links.TokenState.INVALID
    assert signatures(app)[0].status == SignatureStatus.PENDING


def test_withdraw_erases_personal_data_and_the_count_drops(app: Flask, petition: Petition) -> None:
    do_sign(app, petition, signer(postcode="1010", is_public=True))
    message = outbox(app)[0]
    assert message.payload is not None
    withdraw_token = withdraw_token_of(message)
    in_session(app, links.confirm, petition, token=confirm_token_of(app, message))
    fold(app)
    assert count(app, petition) == 1
    assert in_session(app, links.withdraw, petition, token=withdraw_token) == links.TokenState.VALID
    assert (
        in_session(app, links.withdraw, petition, token=withdraw_token)
        == links.TokenState.WITHDRAWN
    )
    [row] = signatures(app)
    assert row.status == SignatureStatus.WITHDRAWN
    assert (row.name, row.email, row.canonical_email, row.postcode, row.ip_hash) == (None,) * 5
    assert fold(app) == 1
    assert count(app, petition) == 0
    # The same person may sign again later.
    assert do_sign(app, petition, signer()).outcome == service.SignOutcome.NEW


def test_recount_corrects_a_wrong_count(app: Flask, petition: Petition) -> None:
    for n in range(3):
        do_sign(app, petition, signer(f"p{n}@example.org"))
    for message in outbox(app):
        in_session(app, links.confirm, petition, token=confirm_token_of(app, message))
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(signature_count=42))
    assert in_session(app, counts.recount, petition) == 3
    assert count(app, petition) == 3
    assert sorted(s.sequence for s in signatures(app)) == [1, 2, 3]  # type: ignore[type-var]


def test_twenty_concurrent_signs_of_one_address_leave_one_row(
    app: Flask, petition: Petition
) -> None:
    barrier = threading.Barrier(20)

    def attempt(n: int) -> service.SignOutcome:
        barrier.wait()
        return do_sign(app, petition, signer(f"Same.Person+{n}@gmail.com")).outcome

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert outcomes.count(service.SignOutcome.NEW) == 1
    assert outcomes.count(service.SignOutcome.ALREADY_SIGNED) == 19
    assert len(signatures(app)) == 1
    assert [m.template for m in outbox(app)].count("confirm") == 1


def test_twenty_concurrent_confirmations_verify_once(app: Flask, petition: Petition) -> None:
    do_sign(app, petition, signer())
    token = confirm_token_of(app, outbox(app)[0])
    barrier = threading.Barrier(20)

    def attempt(_: int) -> object:
        barrier.wait()
        return in_session(app, links.confirm, petition, token=token)

    with ThreadPoolExecutor(20) as pool:
        states = list(pool.map(attempt, range(20)))
    assert states.count(links.TokenState.VALID) == 1
    fold(app)
    assert count(app, petition) == 1


def test_sign_refuses_a_closed_petition(app: Flask, petition: Petition) -> None:
    from petition.petitions.models import PetitionStatus

    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(status=PetitionStatus.CLOSED))
    with pytest.raises(service.PetitionClosed):
        do_sign(app, petition, signer())
    assert signatures(app) == []


@pytest.mark.parametrize("closing", ["status", "deadline"])
def test_the_insert_itself_refuses_a_petition_closed_since_it_was_read(
    app: Flask, petition: Petition, closing: str
) -> None:
    # A petition row read before it closed (a kept row, or another process closing
    # it meanwhile) still admits nothing: the database checks in the insert.
    from petition.petitions.models import PetitionStatus

    closed = (
        {"status": PetitionStatus.CLOSED}
        if closing == "status"
        else {"closes_at": utcnow() - dt.timedelta(seconds=1)}
    )
    with app.app_context(), session_scope() as session:
        stale = session.get(Petition, petition.id)
        assert stale is not None
        assert stale.is_open
        session.execute(sa.update(Petition.__table__).values(**closed))
        with pytest.raises(service.PetitionClosed):
            service.sign(
                session,
                petition=stale,
                signer=signer(),
                client=service.Client(ip="203.0.113.7"),
                ip_key=KEY,
                base_url="http://localhost",
                token_ttl=TTL,
            )
    assert signatures(app) == []
    assert outbox(app) == []
