"""Old petitions get their figures from the migration: one scan, once, never per request."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from petition.commands import init_migrate
from petition.db import db
from petition.petitions.models import Petition
from tests.export.conftest import Clock
from tests.export.test_daily_figures import SLUG, play_two_days

BEFORE = "7e2b9d4c1a60"  # the revision before the daily figures


def figures(app: Flask) -> list[dict[str, object]]:
    body = app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True)
    return list(json.loads(body)["days"])


def test_the_migration_fills_in_the_days_of_an_old_petition(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    play_two_days(app, petition, clock)
    live = figures(app)
    init_migrate(app)
    with app.app_context():
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            # A petition from before hours were recorded, too.
            conn.execute(sa.text("DELETE FROM petition_hourly_counts"))
        upgrade()
        db.engine.dispose()
    backfilled = figures(app)
    assert [d["day"] for d in backfilled] == [d["day"] for d in live]
    for old, new in zip(live, backfilled, strict=True):
        for key in ("signed", "confirmed", "held", "released", "invalidated", "withdrawn"):
            assert new[key] == old[key], (new["day"], key)
        assert new["invalidated_by_rule"] == old["invalidated_by_rule"]
    # The hours come back from the counted signatures' confirmations: b on the first
    # day, e and f on the second (a was withdrawn, c and d invalidated).
    assert [(d["counted"], d["uncounted"], d["count"]) for d in backfilled] == [
        (1, 0, 1),
        (2, 0, 3),
    ]
