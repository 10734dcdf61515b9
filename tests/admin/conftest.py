"""Accounts for the admin tests: an admin, the Daraa petition's organizer, and an
organizer of another petition. Passwords are hashed once per run (argon2 is slow
on purpose); every login still verifies for real."""

from __future__ import annotations

import dataclasses
import re
from functools import cache

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from petition.admin import service
from petition.admin.models import User, UserRole
from petition.db import session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from tests.helpers.forms import csrf_from

PASSWORD = "correct horse battery staple"
OTHER_SLUG = "clean-water-for-idlib"


@cache
def password_hash() -> str:
    return service.hash_password(PASSWORD)


@dataclasses.dataclass(frozen=True)
class Accounts:
    admin: str = "admin@example.org"
    organizer: str = "organizer@example.org"
    other: str = "other@example.org"
    admin_id: int = 0
    organizer_id: int = 0
    other_id: int = 0


def add_user(session, email: str, role: UserRole) -> User:  # type: ignore[no-untyped-def]
    user = User(email=email, password_hash=password_hash(), role=role, session_nonce=email)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def other_petition(app: Flask) -> Petition:
    with app.app_context(), session_scope() as session:
        return petitions.publish(
            session,
            source=petitions.PetitionSource(
                slug=OTHER_SLUG, title="Clean water for Idlib", body="Water.\n"
            ),
        )


@pytest.fixture
def accounts(app: Flask, petition: Petition, other_petition: Petition) -> Accounts:
    with app.app_context(), session_scope() as session:
        admin = add_user(session, "admin@example.org", UserRole.ADMIN)
        organizer = add_user(session, "organizer@example.org", UserRole.ORGANIZER)
        other = add_user(session, "other@example.org", UserRole.ORGANIZER)
        organizer.petitions.append(session.merge(petition))
        other.petitions.append(session.merge(other_petition))
        session.flush()
        return Accounts(admin_id=admin.id, organizer_id=organizer.id, other_id=other.id)


def login(
    client: FlaskClient, email: str, password: str = PASSWORD, *, next_url: str | None = None
) -> TestResponse:
    page = client.get("/admin/login")
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url,
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": email,
            "password": password,
        },
    )


def token(client: FlaskClient, path: str = "/admin/account") -> str:
    """A CSRF token of the client's current session."""
    return csrf_from(client.get(path).get_data(as_text=True))


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


FLASH = re.compile(r'<div class="flash" role="status">(.*?)</div>', re.S)


def add_signature(
    app: Flask,
    slug: str,
    email: str,
    *,
    verified: bool = True,
    flags: frozenset[object] = frozenset(),
    ip: str = "192.0.2.1",
    country: str = "SY",
    fold: bool = True,
) -> int:
    """A signature as the sign form makes it, confirmed (and folded) unless told not."""
    import datetime as dt

    import sqlalchemy as sa

    from petition.signing import counts
    from petition.signing import service as signing
    from petition.signing.models import Signature, SignatureStatus

    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition).where(Petition.slug == slug)).one()
        result = signing.sign(
            session,
            petition=petition,
            signer=signing.Signer(name="Layla Haddad", email=email, country=country),
            client=signing.Client(ip=ip),
            ip_key=b"k",
            base_url="http://localhost",
            token_ttl=dt.timedelta(days=1),
            flags=flags,  # type: ignore[arg-type]
        )
        if verified:
            row = session.get(Signature, result.signature_id)
            assert row is not None
            row.status = SignatureStatus.VERIFIED
            row.verified_at = dt.datetime.now(dt.UTC)
            session.flush()
        if fold:
            counts.fold_counts(session)
        return result.signature_id
