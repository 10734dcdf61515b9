"""The public figures as open data: what the fold counted, in JSON and CSV, never a scan."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.db import db, session_scope, utcnow
from petition.export import figures
from petition.export.serializers import FORMULA_TRIGGERS
from petition.petitions.models import (
    Petition,
    PetitionDailyFigures,
    PetitionDailyInvalidation,
    PetitionHourlyCount,
    PetitionStatus,
)
from tests.petitions.test_activity import confirm_all
from tests.signing.test_service import do_sign, fold, signer

SLUG = "defend-the-people-of-daraa"
JSON_URL = f"/p/{SLUG}/figures.json"
HOURLY_URL = f"/p/{SLUG}/figures-hourly.csv"
DAILY_URL = f"/p/{SLUG}/figures-daily.csv"
URLS = (JSON_URL, HOURLY_URL, DAILY_URL)


def sign_and_count(app: Flask, petition: Petition, emails: list[str]) -> None:
    for email in emails:
        do_sign(app, petition, signer(email))
    confirm_all(app, petition)
    fold(app)


def add_hour(app: Flask, petition: Petition, hours_ago: int, counted: int, uncounted: int) -> None:
    with app.app_context(), session_scope() as session:
        hour = utcnow().replace(minute=0, second=0, microsecond=0)
        session.add(
            PetitionHourlyCount(
                petition_id=petition.id,
                hour=hour - dt.timedelta(hours=hours_ago),
                counted=counted,
                uncounted=uncounted,
            )
        )


def csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs while the test reads."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_the_count_by_hour_ends_at_the_petitions_count(app: Flask, petition: Petition) -> None:
    sign_and_count(app, petition, ["a@example.org", "b@example.org", "c@example.org"])
    add_hour(app, petition, hours_ago=30, counted=5, uncounted=1)
    response = app.test_client().get(JSON_URL)
    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "application/json"
    assert "max-age=60" in response.headers["Cache-Control"]
    document = json.loads(response.get_data(as_text=True))
    assert document["petition"] == SLUG
    assert document["count"] == 3
    hours = document["hours"]
    assert [(h["counted"], h["uncounted"]) for h in hours] == [(5, 1), (3, 0)]
    # The last hour ends at the count; the one before at the count without that hour's.
    assert [h["count"] for h in hours] == [0, 3]
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    assert hours[-1]["hour"] == now.isoformat().replace("+00:00", "Z")


def test_json_and_csv_hold_the_same_hours(app: Flask, petition: Petition) -> None:
    sign_and_count(app, petition, ["a@example.org", "b@example.org"])
    add_hour(app, petition, hours_ago=2, counted=4, uncounted=0)
    client = app.test_client()
    hours = json.loads(client.get(JSON_URL).get_data(as_text=True))["hours"]
    response = client.get(HOURLY_URL)
    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.splitlines()[0] == "hour,counted,uncounted,count"
    assert csv_rows(body) == [{k: str(v) for k, v in h.items()} for h in hours]


def test_an_unchanged_answer_is_not_modified(app: Flask, petition: Petition) -> None:
    sign_and_count(app, petition, ["a@example.org"])
    client = app.test_client()
    for url in URLS:
        first = client.get(url)
        etag = first.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == HTTPStatus.NOT_MODIFIED
    sign_and_count(app, petition, ["b@example.org"])
    assert client.get(JSON_URL, headers={"If-None-Match": etag}).status_code == HTTPStatus.OK


def test_the_figures_read_no_signature(
    app: Flask, petition: Petition, statements: list[str]
) -> None:
    sign_and_count(app, petition, ["layla@example.org", "omar@example.org"])
    client = app.test_client()
    statements.clear()
    bodies = [client.get(url).get_data(as_text=True) for url in URLS]
    assert statements
    assert not [s for s in statements if "signatures" in s.lower()]
    for body in bodies:
        for personal in ("layla", "omar", "example.org", "Layla Haddad", "203.0.113"):
            assert personal not in body
    # As many statements for eight signers as for two, five a request at most (SQLite's
    # BEGIN, the petition, its hours, its days, its invalidations).
    few = len(statements)
    assert few <= 5 * len(URLS), statements
    sign_and_count(app, petition, [f"s{n}@example.org" for n in range(6)])
    statements.clear()
    for url in URLS:
        client.get(url)
    assert len(statements) == few
    statements.clear()
    client.get(f"/p/{SLUG}/batches")  # the batch list and the page's 31 days
    assert statements
    assert not [s for s in statements if "signatures" in s.lower()]


def test_an_unknown_or_draft_petition_has_no_figures(app: Flask, petition: Petition) -> None:
    client = app.test_client()
    for url in URLS:
        missing = url.replace(SLUG, "no-such-petition")
        assert client.get(missing).status_code == HTTPStatus.NOT_FOUND
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(status=PetitionStatus.DRAFT))
    for url in URLS:
        assert client.get(url).status_code == HTTPStatus.NOT_FOUND


def test_no_cell_of_the_csv_is_a_formula(app: Flask, petition: Petition) -> None:
    """Figures are numbers and dates, but a rule's name reaches the JSON from a table:
    one made to look like a formula is never a cell a spreadsheet would run."""
    sign_and_count(app, petition, ["a@example.org"])
    with app.app_context(), session_scope() as session:
        day = utcnow().date()
        session.add(
            PetitionDailyInvalidation(
                petition_id=petition.id, day=day, rule="=HYPERLINK(1)", invalidated=2
            )
        )
        session.add(PetitionDailyFigures(petition_id=petition.id, day=day, invalidated=2))
    client = app.test_client()
    for url in (HOURLY_URL, DAILY_URL):
        rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True))))
        assert len(rows) >= 2
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_TRIGGERS), (url, cell)
    assert figures.as_csv([{"rule": "=HYPERLINK(1)"}], ["rule"]).splitlines()[1] == (
        "'=HYPERLINK(1)"
    )


def test_a_process_keeps_the_figures_a_minute(make_app: Callable[..., Flask]) -> None:
    """Where pages are kept (production), a year of hours is made once a minute."""
    app = make_app(page_cache_seconds=2)
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
    client = app.test_client()
    first = client.get(JSON_URL).get_data(as_text=True)
    add_hour(app, petition, hours_ago=5, counted=7, uncounted=0)
    assert client.get(JSON_URL).get_data(as_text=True) == first
    assert app.test_client().get(JSON_URL).headers["ETag"]
