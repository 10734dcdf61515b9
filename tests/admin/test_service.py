"""Account service: hashing, authentication, second factor, access to petitions."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask

from petition.admin import service
from petition.admin.models import User, UserRole
from petition.admin.views import safe_next
from petition.db import session_scope
from petition.petitions.models import Petition
from tests.admin.conftest import PASSWORD, Accounts


def test_passwords_are_hashed_with_argon2id_owasp_parameters() -> None:
    hashed = service.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    with pytest.raises(service.AccountError, match="at least 12"):
        service.hash_password("short")


def test_weak_old_hashes_are_upgraded_at_login(app: Flask) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app.app_context(), session_scope() as session:
        user = User(
            email="old@example.org", password_hash=weak, role=UserRole.ORGANIZER, session_nonce="n"
        )
        session.add(user)
        session.flush()
        assert service.authenticate(session, email="OLD@example.org ", password=PASSWORD) is user
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_disabled_accounts_cannot_log_in(app: Flask, accounts: Accounts) -> None:
    with app.app_context(), session_scope() as session:
        user = service.find_user(session, accounts.organizer)
        assert user is not None
        user.is_active = False
        assert service.authenticate(session, email=accounts.organizer, password=PASSWORD) is None


def test_totp_accepts_a_neighbouring_step_once(app: Flask, accounts: Accounts) -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    with app.app_context(), session_scope() as session:
        user = service.find_user(session, accounts.organizer)
        assert user is not None
        assert not service.enable_totp(session, user=user, secret=secret, code="12345")
        assert service.enable_totp(session, user=user, secret=secret, code=totp.now())
        assert not service.check_totp(session, user=user, code=totp.now())  # replay
        future = totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
        assert service.check_totp(session, user=user, code=f" {future[:3]} {future[3:]} ")
        far = totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        assert not service.check_totp(session, user=user, code=far)


def test_organizers_reach_only_their_petitions(
    app: Flask, accounts: Accounts, petition: Petition
) -> None:
    with app.app_context(), session_scope() as session:
        organizer = service.find_user(session, accounts.organizer)
        other = service.find_user(session, accounts.other)
        admin = service.find_user(session, accounts.admin)
        assert organizer is not None and other is not None and admin is not None  # noqa: PT018
        assert service.petition_for(session, user=organizer, slug=petition.slug) is not None
        assert service.petition_for(session, user=other, slug=petition.slug) is None
        assert service.petition_for(session, user=admin, slug=petition.slug) is not None
        assert [p.slug for p in service.petitions_for(session, user=other)] == [
            "clean-water-for-idlib"
        ]
        assert len(service.petitions_for(session, user=admin)) == 2


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/admin/"),
        ("/admin/p/x", "/admin/p/x"),
        ("/admin/p/x?tab=1", "/admin/p/x?tab=1"),
        ("//evil.example/admin/", "/admin/"),
        ("https://evil.example/admin/", "/admin/"),
        ("/admin\\@evil.example", "/admin/"),
        ("/admin/\r\nSet-Cookie: x", "/admin/"),
        ("/p/daraa", "/admin/"),
    ],
)
def test_safe_next(app: Flask, target: str | None, expected: str) -> None:
    with app.test_request_context():
        assert safe_next(target) == expected
