"""Flagged signatures in the browser: grouped, previewed, released or invalidated
with a reason, and every action in the audit log."""

from __future__ import annotations

from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.abuse.models import FlagReason
from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.petitions.models import Petition
from petition.signing.models import Signature, SignatureStatus
from tests.admin.conftest import Accounts, add_signature, login, token

SLUG = "defend-the-people-of-daraa"
FLAGS = f"/admin/p/{SLUG}/flags"


def _statuses(app: Flask) -> dict[str, tuple[str, bool]]:
    with app.app_context(), session_scope() as session:
        rows = session.execute(sa.select(Signature.email, Signature.status, Signature.is_held))
        return {email: (str(status), held) for email, status, held in rows}


def _flagged(app: Flask) -> None:
    domain = frozenset({FlagReason.DOMAIN})
    add_signature(app, SLUG, "bot1@mailinator.com", flags=domain, ip="198.51.100.7")
    add_signature(app, SLUG, "bot2@mailinator.com", flags=domain, ip="198.51.100.7", verified=False)
    add_signature(app, SLUG, "fast@example.org", flags=frozenset({FlagReason.TOO_FAST}))
    add_signature(app, SLUG, "real@example.org")


def _act(client: FlaskClient, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": token(client, FLAGS),
        "reason_filter": "",
        "domain": "",
        "ip_hash": "",
        "since": "",
        "why": "throwaway mailboxes from one address",
    }
    data.update(fields)
    return client.post(FLAGS, data=data)


def test_flags_are_grouped_and_counted(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _flagged(app)
    login(client, accounts.organizer)
    html = client.get(FLAGS).get_data(as_text=True)
    assert "3 flagged signatures in this selection" in html
    assert "mailinator.com" in html
    assert "This touches 3 signatures." in html
    narrowed = client.get(FLAGS, query_string={"domain": "mailinator.com"}).get_data(as_text=True)
    assert "This touches 2 signatures." in narrowed
    trending = client.get(FLAGS, query_string={"hours": "1", "reason": "too_fast"})
    assert "This touches 1 signature." in trending.get_data(as_text=True)
    dashboard = client.get(f"/admin/p/{SLUG}").get_data(as_text=True)
    assert '<td data-count="flagged">3</td>' in dashboard
    assert '<td data-count="verified">1</td>' in dashboard
    refused = client.get(FLAGS, query_string={"ip_hash": "abc"})
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "at least 8 characters" in refused.get_data(as_text=True)


def test_invalidate_a_selection_with_a_reason(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _flagged(app)
    login(client, accounts.organizer)
    # Without a reason: refused, nothing changes.
    no_reason = _act(client, domain="mailinator.com", expected="2", action="invalidate", why="")
    assert no_reason.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    # The selection changed since the preview (it said 1): refused, nothing changes.
    stale = _act(client, domain="mailinator.com", expected="1", action="invalidate")
    assert stale.status_code == HTTPStatus.CONFLICT
    assert "now holds 2 signatures" in stale.get_data(as_text=True)
    assert _statuses(app)["bot1@mailinator.com"] == ("verified", True)

    done = _act(client, domain="mailinator.com", expected="2", action="invalidate")
    assert done.status_code == HTTPStatus.SEE_OTHER
    statuses = _statuses(app)
    assert statuses["bot1@mailinator.com"][0] == "invalidated"
    assert statuses["bot2@mailinator.com"][0] == "invalidated"
    assert statuses["fast@example.org"] == ("verified", True)
    assert "2 signatures invalidated" in client.get(FLAGS).get_data(as_text=True)

    released = _act(client, expected="1", action="release", why="a real person, typed fast")
    assert released.status_code == HTTPStatus.SEE_OTHER
    assert _statuses(app)["fast@example.org"] == ("verified", False)
    with app.app_context(), session_scope() as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor, AuditEvent.affected, AuditEvent.reason)
            .where(AuditEvent.action.like("flags.%"))
            .order_by(AuditEvent.id)
        ).all()
    actor = f"user:{accounts.organizer_id}"
    assert [tuple(e) for e in events] == [
        ("flags.invalidate", actor, 2, "throwaway mailboxes from one address"),
        ("flags.release", actor, 1, "a real person, typed fast"),
    ]


def test_another_organizer_cannot_moderate(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _flagged(app)
    login(client, accounts.other)
    response = client.post(
        FLAGS,
        data={"csrf_token": token(client), "expected": "3", "action": "invalidate", "why": "x"},
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert _statuses(app)["bot1@mailinator.com"] == ("verified", True)
    assert SignatureStatus.INVALIDATED not in {s for s, _ in _statuses(app).values()}


def _audit_page(client: FlaskClient) -> str:
    return client.get(f"/admin/p/{SLUG}/audit").get_data(as_text=True)


def _undo(client: FlaskClient, event_id: int, why: str = "they were people"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/admin/p/{SLUG}/audit/{event_id}/reinstate",
        data={"csrf_token": token(client), "why": why},
    )


def _last_event(app: Flask, action: str) -> int:
    with app.app_context(), session_scope() as session:
        found = session.scalars(
            sa.select(AuditEvent.id).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        return found[-1]


def test_undo_an_invalidation_from_the_audit_log(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _flagged(app)
    login(client, accounts.organizer)
    _act(client, domain="mailinator.com", expected="2", action="invalidate")
    event_id = _last_event(app, "flags.invalidate")
    page = _audit_page(client)
    assert f'action="/admin/p/{SLUG}/audit/{event_id}/reinstate"' in page
    assert "Undo this" in page
    assert "signature_ids" not in page  # a long list of numbers tells a reader nothing
    # Without the CSRF token: refused.
    forged = client.post(f"/admin/p/{SLUG}/audit/{event_id}/reinstate", data={"why": "x"})
    assert forged.status_code == HTTPStatus.BAD_REQUEST
    # Without a reason: a form error, nothing changes.
    no_reason = _undo(client, event_id, why="")
    assert no_reason.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'class="field-error"' in no_reason.get_data(as_text=True)
    assert _statuses(app)["bot1@mailinator.com"][0] == "invalidated"

    done = _undo(client, event_id)
    assert done.status_code == HTTPStatus.SEE_OTHER
    statuses = _statuses(app)
    # bot1 had confirmed: verified and held again. bot2 was pending: its link is gone.
    assert statuses["bot1@mailinator.com"] == ("verified", True)
    assert statuses["bot2@mailinator.com"][0] == "invalidated"
    page = _audit_page(client)
    assert "1 signature is back as it was" in page
    undo_id = _last_event(app, "flags.reinstate")
    assert f"Undone by event {undo_id}." in page
    assert f"/audit/{event_id}/reinstate" not in page
    twice = _undo(client, event_id)
    assert twice.status_code == HTTPStatus.CONFLICT
    assert "undone already" in twice.get_data(as_text=True)
    # An event that is no moderation, or unknown: not found.
    assert _undo(client, undo_id).status_code == HTTPStatus.NOT_FOUND
    assert _undo(client, 999_999).status_code == HTTPStatus.NOT_FOUND
    with app.app_context(), session_scope() as session:
        event = session.get(AuditEvent, undo_id)
        assert event is not None
        assert (event.actor, event.reason, event.affected) == (
            f"user:{accounts.organizer_id}",
            "they were people",
            1,
        )
        assert event.details is not None
        assert event.details["undoes"] == event_id


def test_undo_a_release_and_another_organizer_cannot(
    app: Flask, client: FlaskClient, accounts: Accounts, petition: Petition
) -> None:
    _flagged(app)
    login(client, accounts.organizer)
    _act(client, expected="3", action="release", why="all people")
    event_id = _last_event(app, "flags.release")
    client.post("/admin/logout", data={"csrf_token": token(client)})
    login(client, accounts.other)
    assert _undo(client, event_id).status_code == HTTPStatus.NOT_FOUND
    assert _statuses(app)["fast@example.org"] == ("verified", False)
    client.post("/admin/logout", data={"csrf_token": token(client)})
    login(client, accounts.organizer)
    assert _undo(client, event_id).status_code == HTTPStatus.SEE_OTHER
    assert _statuses(app)["fast@example.org"] == ("verified", True)
    assert _statuses(app)["bot2@mailinator.com"] == ("pending", True)
