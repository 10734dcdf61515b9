"""The links mailed before signature_links existed keep working after the migration."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from petition import create_app
from petition.commands import init_migrate
from petition.config import Settings
from petition.db import db, session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import links
from petition.signing.tokens import token_hash
from tests.helpers import DARAA, REQUIRE_ALL

BEFORE = "7c2f0e91d4a3"


def _database(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    from tests.conftest import POSTGRES_ADMIN_URL, _postgres_reachable

    if not _postgres_reachable():
        if REQUIRE_ALL:
            pytest.fail("PostgreSQL is required in CI but not reachable")
        pytest.skip("PostgreSQL not reachable")
    name = f"petition_links_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_hashes_of_the_old_columns_become_links(kind: str, tmp_path: Path) -> None:
    url = _database(kind, tmp_path)
    app = create_app(Settings(database_url=url, instance_path=str(tmp_path), testing=True))
    init_migrate(app)
    pending_confirm, pending_withdraw, verified_withdraw = (
        secrets.token_urlsafe(32) for _ in "abc"
    )
    later = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    try:
        with app.app_context():
            upgrade(revision=BEFORE)
            with session_scope() as session:
                petitions.publish(session, source=petitions.parse_petition_file(DARAA))
            with db.engine.begin() as conn:
                petition_id, version_id = conn.execute(
                    sa.text("SELECT id, current_version_id FROM petitions")
                ).one()
                conn.execute(
                    sa.text(
                        "INSERT INTO signatures (petition_id, version_id, name, email,"
                        " canonical_email, country, is_public, has_update_consent, status, source,"
                        " confirm_token_hash, confirm_expires_at, withdraw_token_hash, is_counted,"
                        " created_at) VALUES (:p, :v, 'N', :e, :e, 'SY', false, false, :s, 'page',"
                        " :c, :x, :w, false, :now)"
                    ),
                    [
                        {
                            "p": petition_id,
                            "v": version_id,
                            "e": email,
                            "s": status,
                            "c": confirm and token_hash(confirm),
                            "x": expires,
                            "w": token_hash(withdraw),
                            "now": dt.datetime.now(dt.UTC),
                        }
                        for email, status, confirm, withdraw, expires in [
                            ("a@example.org", "pending", pending_confirm, pending_withdraw, later),
                            ("b@example.org", "verified", None, verified_withdraw, None),
                        ]
                    ],
                )
            upgrade()
            with session_scope() as session:
                petition = session.scalars(sa.select(Petition)).one()
                assert (
                    links.check_withdraw_token(session, petition=petition, token=verified_withdraw)
                    == links.TokenState.VALID
                )
                assert (
                    links.confirm(session, petition=petition, token=pending_confirm)
                    == links.TokenState.VALID
                )
                assert (
                    links.withdraw(session, petition=petition, token=pending_withdraw)
                    == links.TokenState.VALID
                )
            # And back: the newest unused link of each kind returns to the old columns.
            downgrade(revision=BEFORE)
            with db.engine.connect() as conn:
                kept = conn.execute(
                    sa.text("SELECT withdraw_token_hash FROM signatures ORDER BY id")
                ).scalars()
                assert list(kept) == [None, token_hash(verified_withdraw)]
            db.engine.dispose()
    finally:
        if kind == "postgresql":
            from tests.conftest import POSTGRES_ADMIN_URL

            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
