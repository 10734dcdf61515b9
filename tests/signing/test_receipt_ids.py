"""Every signature has a random receipt id: new ones on signing, old ones by migration."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from petition import create_app
from petition.commands import init_migrate
from petition.config import Settings
from petition.db import db, session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing.models import Signature
from tests.helpers import DARAA
from tests.signing.test_service import do_sign, signer

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_each_signature_gets_its_own_random_receipt_id(app: Flask, petition: Petition) -> None:
    # The sign insert is one statement built once and reused: the id must still be
    # drawn per signature, not once per statement.
    do_sign(app, petition, signer("layla@example.org"))
    do_sign(app, petition, signer("omar@example.org"))
    with app.app_context(), session_scope() as session:
        ids = session.scalars(sa.select(Signature.receipt_id)).all()
    assert len(ids) == 2
    assert all(HEX32.fullmatch(i) for i in ids)
    assert ids[0] != ids[1]


def test_the_migration_gives_existing_signatures_receipt_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(Settings(instance_path=str(tmp_path), database_url=url, testing=True))
    init_migrate(app)
    with app.app_context():
        upgrade()
        with session_scope() as session:
            petition = petitions.publish(session, source=petitions.parse_petition_file(DARAA))
            for n in range(7):
                session.add(
                    Signature(
                        petition_id=petition.id,
                        version_id=petition.current_version_id,
                        name=f"Signer {n}",
                        country="SY",
                    )
                )
        # Back to the release before receipt ids, then up again: the backfill runs.
        downgrade(revision="2f6b8d0e4a17")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("signatures")}
        assert "receipt_id" not in columns
        upgrade()
        with db.engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT receipt_id FROM signatures")).scalars().all()
            nullable = {
                c["name"]: c["nullable"] for c in sa.inspect(conn).get_columns("signatures")
            }
        db.engine.dispose()
    assert len(ids) == 7
    assert len(set(ids)) == 7
    assert all(HEX32.fullmatch(i) for i in ids)
    assert nullable["receipt_id"] is False
