"""What every hostile request is checked against: nothing stored, nothing mailed."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.admin.models import User, UserRole
from petition.api import service as keys
from petition.audit.models import AuditEvent
from petition.db import db, session_scope
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition
from petition.signing.models import Signature


@dataclasses.dataclass(frozen=True)
class Stored:
    petitions: int
    signatures: int
    outbox: int
    users: int
    audit_events: int


def stored(app: Flask) -> Stored:
    """How many rows the tables a request could write to hold."""
    with app.app_context():

        def rows(model: type) -> int:
            return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)

        return Stored(
            petitions=rows(Petition),
            signatures=rows(Signature),
            outbox=rows(OutboxMessage),
            users=rows(User),
            audit_events=rows(AuditEvent),
        )


@pytest.fixture
def nothing_written(app: Flask):  # type: ignore[no-untyped-def]
    """Call before the request, then assert the returned check after it."""

    def before():  # type: ignore[no-untyped-def]
        counted = stored(app)

        def check() -> None:
            assert stored(app) == counted

        return check

    return before


@pytest.fixture(autouse=True)
def admin(app: Flask) -> None:
    """An admin account (rows with ``reach="admin"`` sign in with it)."""
    from tests.admin.conftest import add_user

    with app.app_context(), session_scope() as session:
        add_user(session, "admin@example.org", UserRole.ADMIN)


@pytest.fixture
def api_key(app: Flask, petition: Petition) -> str:
    """A live partner key for the Daraa petition."""
    with app.app_context(), session_scope() as session:
        _key, secret = keys.create_key(
            session, petition=session.merge(petition), name="Partner Org", actor="cli:test"
        )
    return secret
