"""`flask petition flags` and `flask petition purge`, as an operator runs them."""

from __future__ import annotations

import getpass

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.abuse.models import FlagReason
from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.petitions.models import Petition
from petition.signing.models import Signature
from tests.abuse.test_service import sign

SLUG = "defend-the-people-of-daraa"


@pytest.fixture
def held(app: Flask, petition: Petition) -> None:
    sign(app, petition, "p1@example.org", "198.51.100.1")
    sign(app, petition, "b1@mailinator.com", "203.0.113.9", FlagReason.DOMAIN)
    sign(app, petition, "b2@mailinator.com", "203.0.113.9", FlagReason.DOMAIN, FlagReason.BURST)
    sign(app, petition, "b3@example.net", "203.0.113.10", FlagReason.HONEYPOT)


def events(app: Flask) -> list[AuditEvent]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


@pytest.mark.usefixtures("held")
def test_flags_lists_held_signatures_grouped(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["petition", "flags", "--petition", SLUG])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{SLUG}: 3 held, 3 of them verified" in out
    assert "by reason:" in out
    assert "by IP hash" in out
    assert "by email domain:" in out
    assert "mailinator.com" in out
    assert "example.net" in out
    assert "domain" in out
    assert "burst" in out
    assert "honeypot" in out
    assert "example.org" not in out  # the person who was not flagged

    narrowed = runner.invoke(args=["petition", "flags", "--petition", SLUG, "--reason", "burst"])
    assert f"{SLUG}: 1 held" in narrowed.output


@pytest.mark.usefixtures("held")
def test_flags_release_a_selection_with_a_reason(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    args = ["petition", "flags", "--petition", SLUG, "--domain", "mailinator.com", "--release"]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0
    assert "--why is required" in refused.output

    asked = runner.invoke(args=[*args, "--why", "checked by hand"], input="n\n")
    assert asked.exit_code != 0
    assert "release 2 held signatures" in asked.output
    assert events(app) == []

    done = runner.invoke(args=[*args, "--why", "checked by hand", "--yes"])
    assert done.exit_code == 0, done.output
    assert "released 2 signatures" in done.output
    [event] = events(app)
    assert event.actor == f"cli:{getpass.getuser()}"
    assert (event.action, event.affected, event.reason) == ("flags.release", 2, "checked by hand")


@pytest.mark.usefixtures("held")
def test_flags_invalidate_by_time_window_and_reason(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=[
            "petition",
            "flags",
            "--petition",
            SLUG,
            "--reason",
            "honeypot",
            "--since",
            "2000-01-01",
            "--until",
            "2999-01-01T00:00",
            "--invalidate",
            "--why",
            "bot",
            "--yes",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "invalidated 1 signature of" in result.output
    with app.app_context(), session_scope(write=False) as session:
        statuses = sorted(session.scalars(sa.select(Signature.status)))
    assert statuses == ["invalidated", "verified", "verified", "verified"]
    [event] = events(app)
    assert event.details is not None
    assert len(event.details.pop("signature_ids")) == 1
    assert event.details == {
        "reason": "honeypot",
        "since": "2000-01-01T00:00:00+00:00",
        "until": "2999-01-01T00:00:00+00:00",
    }


def test_flags_explains_bad_input(runner, petition: Petition) -> None:  # type: ignore[no-untyped-def]
    unknown = runner.invoke(args=["petition", "flags", "--petition", "nope"])
    assert unknown.exit_code != 0
    assert "no petition nope" in unknown.output
    short = runner.invoke(args=["petition", "flags", "--petition", SLUG, "--ip-hash", "ab"])
    assert short.exit_code != 0
    assert "at least 8" in short.output
    reason = runner.invoke(args=["petition", "flags", "--petition", SLUG, "--reason", "x"])
    assert reason.exit_code != 0
    nothing = runner.invoke(
        args=["petition", "flags", "--petition", SLUG, "--release", "--why", "x", "--yes"]
    )
    assert nothing.exit_code == 0
    assert "no held signature matches" in nothing.output


@pytest.mark.usefixtures("held")
def test_purge_command(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["petition", "purge", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "erased 0 IP hashes older than 30 days" in result.output
    assert "deleted 0 expired pending signatures" in result.output
    assert [e.action for e in events(app)] == ["signatures.purge"]
    assert runner.invoke(args=["petition", "purge", "--days", "0"]).exit_code != 0


@pytest.mark.usefixtures("held")
def test_flags_reinstate_undoes_an_invalidation_once(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    done = runner.invoke(
        args=["petition", "flags", "--petition", SLUG, "--invalidate", "--why", "bots", "--yes"]
    )
    assert done.exit_code == 0, done.output
    [invalidation] = events(app)
    args = ["petition", "flags", "--reinstate", str(invalidation.id)]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0
    assert "--why is required" in refused.output
    mixed = runner.invoke(args=[*args, "--release", "--why", "x"])
    assert mixed.exit_code != 0
    assert "goes alone" in mixed.output

    undone = runner.invoke(args=[*args, "--why", "they were people"])
    assert undone.exit_code == 0, undone.output
    assert f"undid audit event {invalidation.id}: 3 signatures reinstated" in undone.output
    with app.app_context(), session_scope(write=False) as session:
        statuses = set(session.scalars(sa.select(Signature.status)))
    assert statuses == {"verified"}
    reinstated = events(app)[-1]
    assert (reinstated.action, reinstated.actor, reinstated.reason) == (
        "flags.reinstate",
        f"cli:{getpass.getuser()}",
        "they were people",
    )
    again = runner.invoke(args=[*args, "--why", "twice"])
    assert again.exit_code != 0
    assert "undone already" in again.output
    elsewhere = runner.invoke(args=[*args, "--petition", "nope", "--why", "x"])
    assert "no petition nope" in elsewhere.output
    unknown = runner.invoke(args=["petition", "flags", "--reinstate", "999999", "--why", "x"])
    assert unknown.exit_code != 0
    assert "no release or invalidation" in unknown.output
    assert runner.invoke(args=["petition", "flags"]).exit_code != 0  # --petition needed
