"""The last day's figure comes from the hours the fold recorded, never a scan."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope, utcnow
from petition.petitions import activity
from petition.petitions.models import Petition, PetitionHourlyCount
from petition.signing import links
from tests.signing.test_service import confirm_token_of, do_sign, fold, outbox, signer

SLUG = "defend-the-people-of-daraa"


def confirm_all(app: Flask, petition: Petition) -> None:
    for message in outbox(app):
        if message.payload and "confirm_url" in message.payload:
            with app.app_context(), session_scope() as session:
                fresh = session.get(Petition, petition.id)
                assert fresh is not None
                links.confirm(session, petition=fresh, token=confirm_token_of(app, message))


def last_day(app: Flask, petition: Petition) -> int | None:
    with app.app_context(), session_scope(write=False) as session:
        return activity.signed_in_last_day(session, petition)


def test_the_fold_records_its_hour_and_the_page_shows_the_last_day(
    app: Flask, petition: Petition
) -> None:
    assert last_day(app, petition) is None
    for n in range(3):
        do_sign(app, petition, signer(f"s{n}@example.org"))
    confirm_all(app, petition)
    fold(app)
    assert last_day(app, petition) == 3
    with app.app_context(), session_scope() as session:
        [row] = session.scalars(sa.select(PetitionHourlyCount)).all()
        assert (row.counted, row.uncounted) == (3, 0)
        assert row.hour == utcnow().replace(minute=0, second=0, microsecond=0)
        # An hour more than a day ago stays in the table but out of the figure.
        session.add(
            PetitionHourlyCount(
                petition_id=petition.id,
                hour=row.hour - dt.timedelta(hours=30),
                counted=50,
                uncounted=0,
            )
        )
    assert last_day(app, petition) == 3
    html = app.test_client().get(f"/p/{SLUG}").get_data(as_text=True)
    assert '<p class="count-recent">3 signed in the last 24 hours</p>' in html


def test_a_signature_no_longer_counted_comes_off_the_last_day(
    app: Flask, petition: Petition
) -> None:
    for n in range(2):
        do_sign(app, petition, signer(f"s{n}@example.org"))
    confirm_all(app, petition)
    fold(app)
    first = outbox(app)[0]
    assert first.payload is not None
    token = str(first.payload["withdraw_url"]).rsplit("/", 1)[1]
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        links.withdraw(session, petition=fresh, token=token)
    fold(app)
    assert last_day(app, petition) == 1
