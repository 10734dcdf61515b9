"""``flask petition create-user``, ``grant-petition`` and ``reset-login``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from petition.admin import service
from petition.admin.models import User, UserRole
from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.petitions.models import Petition


def _user(app: Flask, email: str) -> User | None:
    with app.app_context(), session_scope() as session:
        return service.find_user(session, email)


def test_create_user_reads_the_password_from_stdin(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["petition", "create-user", "Amal@Example.org", "--role", "admin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created admin amal@example.org" in result.output
    assert "a long enough password" not in result.output
    user = _user(app, "amal@example.org")
    assert user is not None
    assert user.role == UserRole.ADMIN
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert service.verify_password(user, "a long enough password")
    with app.app_context(), session_scope() as session:
        assert session.scalar(sa.select(AuditEvent.action)) == "account.create"


def test_create_user_refuses_weak_passwords_and_duplicates(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    weak = runner.invoke(args=["petition", "create-user", "a@example.org"], input="short\n")
    assert weak.exit_code == 1
    assert "at least 12 characters" in weak.output
    assert _user(app, "a@example.org") is None
    runner.invoke(
        args=["petition", "create-user", "a@example.org"], input="a long enough password\n"
    )
    again = runner.invoke(
        args=["petition", "create-user", "A@example.org"], input="a long enough password\n"
    )
    assert again.exit_code == 1
    assert "exists already" in again.output
    bad_role = runner.invoke(args=["petition", "create-user", "b@example.org", "--role", "root"])
    assert bad_role.exit_code == 2


def test_grant_and_revoke_a_petition(app: Flask, runner, petition: Petition) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(
        args=["petition", "create-user", "o@example.org"], input="a long enough password\n"
    )
    result = runner.invoke(args=["petition", "grant-petition", "o@example.org", petition.slug])
    assert result.exit_code == 0, result.output
    user = _user(app, "o@example.org")
    assert user is not None
    assert [p.slug for p in user.petitions] == [petition.slug]
    assert (
        runner.invoke(args=["petition", "grant-petition", "o@example.org", "nope"]).exit_code == 1
    )
    assert (
        runner.invoke(args=["petition", "grant-petition", "x@example.org", petition.slug]).exit_code
        == 1
    )
    revoked = runner.invoke(
        args=["petition", "grant-petition", "o@example.org", petition.slug, "--revoke"]
    )
    assert revoked.exit_code == 0
    user = _user(app, "o@example.org")
    assert user is not None
    assert user.petitions == []


def test_reset_login(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(
        args=["petition", "create-user", "o@example.org"], input="a long enough password\n"
    )
    before = _user(app, "o@example.org")
    assert before is not None
    result = runner.invoke(
        args=["petition", "reset-login", "o@example.org", "--password", "--totp-off"],
        input="another long password\n",
    )
    assert result.exit_code == 0, result.output
    after = _user(app, "o@example.org")
    assert after is not None
    assert after.session_nonce != before.session_nonce
    assert service.verify_password(after, "another long password")
