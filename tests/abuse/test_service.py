"""Moderation: report, select, release, invalidate, purge; each in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.abuse.models import FlagReason
from petition.audit.models import AuditEvent
from petition.db import session_scope, utcnow
from petition.moderation import service as moderation
from petition.petitions.models import Petition
from petition.signing import counts
from petition.signing import service as signing
from petition.signing.models import Signature, SignatureStatus

KEY = b"test-ip-key"
TTL = dt.timedelta(days=7)


def sign(
    app: Flask, petition: Petition, email: str, ip: str, *flags: FlagReason, verify: bool = True
) -> int:
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        result = signing.sign(
            session,
            petition=fresh,
            signer=signing.Signer(name="Someone", email=email, country="SY"),
            client=signing.Client(ip=ip),
            ip_key=KEY,
            base_url="http://localhost",
            token_ttl=TTL,
            flags=frozenset(flags),
        )
        if verify:
            session.execute(
                sa.update(Signature)
                .where(Signature.id == result.signature_id)
                .values(status=SignatureStatus.VERIFIED, verified_at=utcnow())
            )
        return result.signature_id


@pytest.fixture
def flagged(app: Flask, petition: Petition) -> dict[str, int]:
    """Two people, and held signatures from two addresses and two domains."""
    return {
        "person1": sign(app, petition, "p1@example.org", "198.51.100.1"),
        "person2": sign(app, petition, "p2@example.org", "198.51.100.2"),
        "bot1": sign(app, petition, "b1@mailinator.com", "203.0.113.9", FlagReason.DOMAIN),
        "bot2": sign(
            app, petition, "b2@mailinator.com", "203.0.113.9", FlagReason.DOMAIN, FlagReason.BURST
        ),
        "bot3": sign(app, petition, "b3@example.net", "203.0.113.9", FlagReason.BURST),
        "bot4": sign(
            app, petition, "b4@example.net", "203.0.113.10", FlagReason.HONEYPOT, verify=False
        ),
    }


def fold_and_count(app: Flask, petition: Petition) -> int:
    with app.app_context(), session_scope() as session:
        while counts.fold_counts(session):
            pass
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        return fresh.signature_count


def ip_hash_of(app: Flask, signature_id: int) -> str:
    with app.app_context(), session_scope(write=False) as session:
        row = session.get(Signature, signature_id)
        assert row is not None
        assert row.ip_hash is not None
        return row.ip_hash


def test_held_signatures_do_not_count(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    assert fold_and_count(app, petition) == 2
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        assert counts.recount(session, petition=fresh) == 2


def test_report_groups_by_reason_ip_hash_and_domain(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    with app.app_context(), session_scope(write=False) as session:
        report = moderation.flag_report(
            session, selection=moderation.Selection(petition_id=petition.id)
        )
    assert (report.held, report.verified) == (4, 3)
    assert [(g.key, g.held, g.verified) for g in report.by_reason] == [
        ("burst", 2, 2),
        ("domain", 2, 2),
        ("honeypot", 1, 0),
    ]
    assert [(g.held, g.verified) for g in report.by_ip_hash] == [(3, 3), (1, 0)]
    assert report.by_ip_hash[0].key == ip_hash_of(app, flagged["bot1"])
    assert [(g.key, g.held) for g in report.by_domain] == [
        ("example.net", 2),
        ("mailinator.com", 2),
    ]


def test_selection_filters(app: Flask, petition: Petition, flagged: dict[str, int]) -> None:
    bot_ip = ip_hash_of(app, flagged["bot1"])
    cases = {
        moderation.Selection(petition_id=petition.id): 4,
        moderation.Selection(petition_id=petition.id, reason=FlagReason.BURST): 2,
        moderation.Selection(petition_id=petition.id, domain="Mailinator.com"): 2,
        moderation.Selection(petition_id=petition.id, domain="example.org"): 0,
        moderation.Selection(petition_id=petition.id, ip_hash=bot_ip[:12]): 3,
        moderation.Selection(
            petition_id=petition.id, reason=FlagReason.DOMAIN, ip_hash=bot_ip, domain="example.net"
        ): 0,
        moderation.Selection(petition_id=petition.id, since=utcnow() - dt.timedelta(hours=1)): 4,
        moderation.Selection(petition_id=petition.id, until=utcnow() - dt.timedelta(hours=1)): 0,
        moderation.Selection(petition_id=petition.id + 1): 0,
    }
    with app.app_context(), session_scope(write=False) as session:
        found = {sel: moderation.preview_count(session, selection=sel) for sel in cases}
    assert found == cases


def test_bad_selections_are_refused(petition: Petition) -> None:
    with pytest.raises(moderation.BadSelection):
        moderation.Selection(petition_id=petition.id, ip_hash="abc")
    with pytest.raises(moderation.BadSelection):
        moderation.Selection(petition_id=petition.id, since=dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_release_makes_them_count_at_the_next_fold_and_is_audited(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    assert fold_and_count(app, petition) == 2
    selection = moderation.Selection(petition_id=petition.id, domain="mailinator.com")
    with app.app_context(), session_scope() as session:
        released = moderation.release(
            session, selection=selection, actor="cli:moderator", reason="university network"
        )
    assert released == 2
    assert fold_and_count(app, petition) == 4
    with app.app_context(), session_scope(write=False) as session:
        event = session.scalars(sa.select(AuditEvent)).one()
        rows = {r.id: r for r in session.scalars(sa.select(Signature))}
    assert (event.actor, event.action, event.affected) == ("cli:moderator", "flags.release", 2)
    assert (event.petition_id, event.reason) == (petition.id, "university network")
    assert event.details == {
        "domain": "mailinator.com",
        "signature_ids": sorted([flagged["bot1"], flagged["bot2"]]),
    }
    bot1, bot2 = rows[flagged["bot1"]], rows[flagged["bot2"]]
    assert not bot1.is_held
    assert bot1.released_at is not None
    assert bot1.is_counted
    assert bot1.flag_reasons == "domain"  # why it was flagged stays on record
    assert bot1.sequence == 3
    assert bot2.sequence == 4

    # The released ones are no longer in the moderation queue.
    with app.app_context(), session_scope(write=False) as session:
        assert moderation.preview_count(session, selection=selection) == 0


def test_invalidate_removes_them_for_good(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    selection = moderation.Selection(
        petition_id=petition.id, ip_hash=ip_hash_of(app, flagged["bot1"])
    )
    with app.app_context(), session_scope() as session:
        assert (
            moderation.invalidate(session, selection=selection, actor="user:1", reason="script")
            == 3
        )
    assert fold_and_count(app, petition) == 2
    with app.app_context(), session_scope(write=False) as session:
        statuses = {r.id: r.status for r in session.scalars(sa.select(Signature))}
        event = session.scalars(sa.select(AuditEvent)).one()
    assert {statuses[flagged[k]] for k in ("bot1", "bot2", "bot3")} == {"invalidated"}
    assert statuses[flagged["bot4"]] == "pending"
    assert (event.action, event.affected, event.actor) == ("flags.invalidate", 3, "user:1")
    # Releasing them later changes nothing: they are not held signatures any more.
    with app.app_context(), session_scope() as session:
        assert moderation.release(session, selection=selection, actor="user:1", reason="oops") == 0
    assert fold_and_count(app, petition) == 2


def test_a_pending_held_signature_released_counts_once_confirmed(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    selection = moderation.Selection(petition_id=petition.id, reason=FlagReason.HONEYPOT)
    with app.app_context(), session_scope() as session:
        assert (
            moderation.release(session, selection=selection, actor="user:1", reason="a person") == 1
        )
    assert fold_and_count(app, petition) == 2
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(Signature)
            .where(Signature.id == flagged["bot4"])
            .values(status=SignatureStatus.VERIFIED, verified_at=utcnow())
        )
    assert fold_and_count(app, petition) == 3


def test_actions_need_a_reason(app: Flask, petition: Petition) -> None:
    selection = moderation.Selection(petition_id=petition.id)
    with app.app_context(), session_scope() as session:
        with pytest.raises(moderation.MissingReason):
            moderation.release(session, selection=selection, actor="user:1", reason="  ")
        with pytest.raises(moderation.MissingReason):
            moderation.invalidate(session, selection=selection, actor="user:1", reason="")


def test_purge_erases_old_ip_hashes_and_expired_pending_signatures(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    later = utcnow() + dt.timedelta(days=8)
    with app.app_context(), session_scope() as session:
        result = moderation.purge(
            session, ip_hash_retention=dt.timedelta(days=30), actor="cli:op", now=later
        )
    # Nothing is 30 days old yet; bot4's link expired after 7 days.
    assert result == moderation.PurgeResult(ip_hashes_erased=0, expired_pending_deleted=1)
    much_later = utcnow() + dt.timedelta(days=31)
    with app.app_context(), session_scope() as session:
        result = moderation.purge(
            session, ip_hash_retention=dt.timedelta(days=30), actor="cli:op", now=much_later
        )
        assert result == moderation.PurgeResult(ip_hashes_erased=5, expired_pending_deleted=0)
        assert session.scalar(sa.select(sa.func.count()).where(Signature.ip_hash.is_not(None))) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 5
        events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.affected) for e in events] == [
        ("signatures.purge", 1),
        ("signatures.purge", 5),
    ]


def _event_id(app: Flask, action: str) -> int:
    with app.app_context(), session_scope(write=False) as session:
        return session.scalars(
            sa.select(AuditEvent.id).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).one()


def _reinstate(app: Flask, event_id: int, **kwargs: object) -> int:
    with app.app_context(), session_scope() as session:
        return moderation.reinstate(
            session,
            event_id=event_id,
            actor="user:2",
            reason=str(kwargs.pop("reason", "a mistake")),
            **kwargs,  # type: ignore[arg-type]
        )


def test_an_invalidation_is_reinstated_once_sparing_withdrawn_signers(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    selection = moderation.Selection(petition_id=petition.id)
    with app.app_context(), session_scope() as session:
        assert (
            moderation.invalidate(session, selection=selection, actor="user:1", reason="bots") == 4
        )
        bot3 = session.get(Signature, flagged["bot3"])
        assert bot3 is not None
        signing.withdraw_signature(session, signature=bot3)
    invalidation = _event_id(app, "flags.invalidate")
    with pytest.raises(moderation.MissingReason):
        _reinstate(app, invalidation, reason=" ")
    with pytest.raises(moderation.CannotReinstate):
        _reinstate(app, invalidation, petition_id=petition.id + 1)
    # bot1 and bot2 were confirmed: verified and held again. bot3 withdrew meanwhile,
    # bot4's confirmation link is gone: both stay as they are.
    assert _reinstate(app, invalidation) == 2
    with app.app_context(), session_scope(write=False) as session:
        rows = {r.id: r for r in session.scalars(sa.select(Signature))}
        event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert {(rows[flagged[k]].status, rows[flagged[k]].is_held) for k in ("bot1", "bot2")} == {
        ("verified", True)
    }
    assert rows[flagged["bot3"]].status == "withdrawn"
    assert rows[flagged["bot3"]].email is None
    assert rows[flagged["bot4"]].status == "invalidated"
    assert event is not None
    assert (event.action, event.actor, event.affected, event.reason) == (
        "flags.reinstate",
        "user:2",
        2,
        "a mistake",
    )
    assert event.details == {
        "undoes": invalidation,
        "undone_action": "flags.invalidate",
        "signature_ids": sorted([flagged["bot1"], flagged["bot2"]]),
        "skipped": 2,
    }
    with pytest.raises(moderation.AlreadyReinstated, match="undone already"):
        _reinstate(app, invalidation)
    with pytest.raises(moderation.CannotReinstate):
        _reinstate(app, event.id)  # an undo is not itself undone
    # Held again, a moderator releases them and they count.
    with app.app_context(), session_scope() as session:
        assert moderation.release(session, selection=selection, actor="user:1", reason="real") == 2
    assert fold_and_count(app, petition) == 4


def test_a_release_is_undone_and_the_fold_uncounts_them(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    selection = moderation.Selection(petition_id=petition.id, domain="mailinator.com")
    with app.app_context(), session_scope() as session:
        assert moderation.release(session, selection=selection, actor="user:1", reason="ok") == 2
    assert fold_and_count(app, petition) == 4
    assert _reinstate(app, _event_id(app, "flags.release")) == 2
    assert fold_and_count(app, petition) == 2
    with app.app_context(), session_scope(write=False) as session:
        assert moderation.preview_count(session, selection=selection) == 2
        assert moderation.undone_by(session, event_ids=[_event_id(app, "flags.release")])


def test_events_that_are_no_moderation_cannot_be_reinstated(
    app: Flask, petition: Petition, flagged: dict[str, int]
) -> None:
    with app.app_context(), session_scope() as session:
        purge = moderation.purge(session, ip_hash_retention=dt.timedelta(days=30), actor="cli:x")
        assert purge.ip_hashes_erased == 0
        older = audit_record_without_ids(session, petition.id)
    with pytest.raises(moderation.CannotReinstate):
        _reinstate(app, _event_id(app, "signatures.purge"))
    with pytest.raises(moderation.CannotReinstate, match="lists no signatures"):
        _reinstate(app, older)
    with pytest.raises(moderation.CannotReinstate):
        _reinstate(app, 999_999)


def audit_record_without_ids(session: sa.orm.Session, petition_id: int) -> int:
    """A release recorded before undo existed: its details list no signatures."""
    from petition.audit import service as audit

    return audit.record(
        session, actor="user:1", action="flags.release", petition_id=petition_id, details={}
    ).id
