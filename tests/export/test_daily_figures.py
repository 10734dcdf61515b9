"""Per-day figures equal what happened: a scripted scenario over two days, on a clock
the test controls, through the real services (sign, confirm, moderate, withdraw, fold)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

import petition.moderation.service
import petition.signing.counts
import petition.signing.figures
import petition.signing.links
import petition.signing.service
import petition.signing.states  # noqa: F401  (imported so the clock reaches it)
from petition.abuse.models import FlagReason
from petition.db import db, session_scope
from petition.mail.models import OutboxMessage
from petition.moderation import service as moderation
from petition.petitions.models import Petition, PetitionDailyFigures
from petition.signing import figures as petition_figures
from petition.signing import links, service
from petition.signing.models import FiguresCursor, Signature
from tests.export.conftest import Clock
from tests.signing.test_service import KEY, TTL, fold, signer

SLUG = "defend-the-people-of-daraa"


def sign(app: Flask, petition: Petition, email: str, *flags: FlagReason) -> None:
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        service.sign(
            session,
            petition=fresh,
            signer=signer(email, name=f"Signer {email}"),
            client=service.Client(ip="203.0.113.7"),
            ip_key=KEY,
            base_url="http://localhost",
            token_ttl=TTL,
            flags=frozenset(flags),
        )


def link_of(app: Flask, email: str, purpose: str) -> str:
    with app.app_context(), session_scope(write=False) as session:
        message = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.to_address == email)
        ).first()
        assert message is not None
        assert message.payload is not None
        return str(message.payload[f"{purpose}_url"]).rsplit("/", 1)[1]


def follow(app: Flask, petition: Petition, email: str, purpose: str) -> None:
    token = link_of(app, email, purpose)
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        action = links.confirm if purpose == "confirm" else links.withdraw
        action(session, petition=fresh, token=token)


def moderate(app: Flask, petition: Petition, action: str, reason: FlagReason) -> None:
    with app.app_context(), session_scope() as session:
        selection = moderation.Selection(petition_id=petition.id, reason=reason)
        decide = moderation.invalidate if action == "invalidate" else moderation.release
        decide(session, selection=selection, actor="cli:moderator", reason="checked by hand")


def play_two_days(app: Flask, petition: Petition, clock: Clock) -> tuple[dt.date, dt.date]:
    day1 = clock.now.replace(hour=10)
    clock.set(day1)
    for email in ("a@example.org", "b@example.org"):
        sign(app, petition, email)
    sign(app, petition, "c@example.org", FlagReason.BURST)
    sign(app, petition, "d@example.org", FlagReason.BURST, FlagReason.TOO_FAST)
    clock.set(day1 + dt.timedelta(minutes=5))
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        follow(app, petition, email, "confirm")
    clock.set(day1 + dt.timedelta(minutes=10))
    fold(app)
    clock.set(day1 + dt.timedelta(hours=5))
    moderate(app, petition, "invalidate", FlagReason.BURST)
    fold(app)

    day2 = day1 + dt.timedelta(days=1, hours=-1)
    clock.set(day2)
    sign(app, petition, "e@example.org")
    sign(app, petition, "f@example.org", FlagReason.DOMAIN)
    clock.set(day2 + dt.timedelta(minutes=5))
    follow(app, petition, "e@example.org", "confirm")
    follow(app, petition, "f@example.org", "confirm")
    moderate(app, petition, "release", FlagReason.DOMAIN)
    follow(app, petition, "a@example.org", "withdraw")
    clock.set(day2 + dt.timedelta(minutes=10))
    fold(app)
    # The last events are tallied once they are older than the lag.
    clock.set(day2 + dt.timedelta(minutes=20))
    fold(app)
    return day1.date(), day2.date()


def test_the_figures_of_each_day_are_what_happened(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    day1, day2 = play_two_days(app, petition, clock)
    document = json.loads(app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True))
    assert document["count"] == 3
    assert document["days"] == [
        {
            "day": day1.isoformat(),
            "signed": 4,
            "confirmed": 3,
            "counted": 2,
            "uncounted": 0,
            "held": 2,
            "released": 0,
            "invalidated": 2,
            "invalidated_by_rule": {"burst": 2, "too_fast": 1},
            "withdrawn": 0,
            "count": 2,
        },
        {
            "day": day2.isoformat(),
            "signed": 2,
            "confirmed": 2,
            "counted": 2,
            "uncounted": 1,
            "held": 1,
            "released": 1,
            "invalidated": 0,
            "invalidated_by_rule": {},
            "withdrawn": 1,
            "count": 3,
        },
    ]


def test_daily_json_and_csv_agree_and_hold_no_personal_data(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    play_two_days(app, petition, clock)
    client = app.test_client()
    document = json.loads(client.get(f"/p/{SLUG}/figures.json").get_data(as_text=True))
    response = client.get(f"/p/{SLUG}/figures-daily.csv")
    assert response.status_code == HTTPStatus.OK
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == len(document["days"])
    for row, day in zip(rows, document["days"], strict=True):
        rules = day.pop("invalidated_by_rule")
        for rule in ("burst", "domain", "honeypot", "too_fast", "no_form_time"):
            assert row.pop(f"invalidated_{rule}") == str(rules.get(rule, 0))
        assert row == {k: str(v) for k, v in day.items()}
    hourly = client.get(f"/p/{SLUG}/figures-hourly.csv").get_data(as_text=True)
    for text in (json.dumps(document), body, hourly):
        for personal in ("example.org", "Signer", "203.0.113", "checked by hand", "moderator"):
            assert personal not in text


def test_the_batch_page_shows_the_days_in_an_accessible_table(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    _day1, _day2 = play_two_days(app, petition, clock)
    response = app.test_client().get(f"/p/{SLUG}/batches")
    assert response.status_code == HTTPStatus.OK
    html = response.get_data(as_text=True)
    table = html[html.index('<table class="country-table figures-table">') :]
    table = table[: table.index("</table>")]
    assert '<caption id="figures-caption">Signatures per day, newest first</caption>' in table
    assert table.count('<th scope="col">') == 10
    assert table.count('<th scope="row">') == 2
    # Newest first: the second day's row comes before the first's.
    rows = table.split("<tr>")[2:]
    cells = [[c.split("</td>")[0].strip() for c in row.split("<td>")[1:]] for row in rows]
    assert [c[:3] for c in cells] == [["2", "2", "2"], ["4", "3", "2"]]
    assert cells[1][6].startswith("2")
    assert "burst from one address: 2" in cells[1][6]
    assert "sent too fast: 1" in cells[1][6]
    for url in ("figures.json", "figures-daily.csv", "figures-hourly.csv"):
        assert f'href="/p/{SLUG}/{url}"' in html
    for personal in ("example.org", "Signer", "checked by hand"):
        assert personal not in html


def test_the_figures_read_in_arabic(app: Flask, petition: Petition, clock: Clock) -> None:
    play_two_days(app, petition, clock)
    html = app.test_client().get(f"/p/{SLUG}/batches?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    assert '<caption id="figures-caption">التوقيعات في كل يوم، الأحدث أولًا</caption>' in html
    assert "ما حدث، يومًا بيوم" in html
    assert "العدد في نهاية اليوم" in html
    assert "Signatures per day" not in html
    assert "burst from one address" not in html  # the rule's label is Arabic too


def test_the_petition_page_links_the_figures(app: Flask, petition: Petition) -> None:
    html = app.test_client().get(f"/p/{SLUG}").get_data(as_text=True)
    assert f'<a href="/p/{SLUG}/batches#figures-heading">What happened, day by day</a>' in html


def test_events_within_the_lag_wait_for_a_later_fold(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    """A cursor passes only rows old enough to have committed: the newest wait."""

    def signed_today() -> int:
        body = app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True)
        return sum(int(d["signed"]) for d in json.loads(body)["days"])

    start = clock.now.replace(hour=12)
    clock.set(start)
    sign(app, petition, "a@example.org")
    clock.set(start + petition_figures.LAG / 2)
    sign(app, petition, "b@example.org")
    fold(app)
    assert signed_today() == 0
    clock.set(start + petition_figures.LAG + dt.timedelta(seconds=1))
    fold(app)
    assert signed_today() == 1  # a only: b is still within the lag
    fold(app)
    assert signed_today() == 1  # tallied once, however often the fold runs
    clock.set(start + 2 * petition_figures.LAG)
    fold(app)
    assert signed_today() == 2


def test_the_recount_puts_back_what_the_tally_passed_by(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    day1, day2 = play_two_days(app, petition, clock)
    before = json.loads(app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True))
    sign(app, petition, "g@example.org")
    with app.app_context(), session_scope() as session:
        # As if g's request had committed after a fold passed its id by, and a day's
        # row were wrong.
        newest = session.scalar(sa.select(sa.func.max(Signature.id)))
        session.execute(
            sa.update(FiguresCursor)
            .where(FiguresCursor.event == "signed")
            .values(through_id=newest)
        )
        session.execute(
            sa.update(PetitionDailyFigures)
            .where(PetitionDailyFigures.day == day1)
            .values(signed=99, held=2)
        )
    clock.set(clock.now + dt.timedelta(minutes=10))
    fold(app)
    with app.app_context(), session_scope() as session:
        fresh = session.get(Petition, petition.id)
        assert fresh is not None
        assert petition_figures.recount(session, petition_id=fresh.id) == 2
        assert petition_figures.recount(session, petition_id=fresh.id) == 0
    after = json.loads(app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True))
    assert after["days"][0] == before["days"][0]  # day 1 as it was
    assert after["days"][1]["day"] == day2.isoformat()
    assert after["days"][1]["signed"] == before["days"][1]["signed"] + 1
    assert after["days"][1]["held"] == before["days"][1]["held"]


def test_flask_petition_recount_recounts_the_figures(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    day1, _day2 = play_two_days(app, petition, clock)
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(PetitionDailyFigures)
            .where(PetitionDailyFigures.day == day1)
            .values(confirmed=0)
        )
    result = app.test_cli_runner().invoke(args=["petition", "recount", SLUG])
    assert result.exit_code == 0, result.output
    days = json.loads(app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True))
    assert days["days"][0]["confirmed"] == 3


def test_the_figures_page_needs_no_other_host_and_no_script(
    app: Flask, petition: Petition, clock: Clock
) -> None:
    play_two_days(app, petition, clock)
    html = app.test_client().get(f"/p/{SLUG}/batches").get_data(as_text=True)
    section = html[html.index('<section class="daily-figures"') :]
    section = section[: section.index("</section>")]
    assert "<script" not in section
    for address in re.findall(r'(?:href|src)="([^"]*)"', html):
        assert address.startswith(("/", "#", "data:")), address


def test_two_folds_at_once_tally_each_signature_once(
    app: Flask, petition: Petition, clock: Clock, database_url: str
) -> None:
    """On PostgreSQL several workers fold at once: the one holding the cursors tallies,
    the other skips them without waiting, and nothing is counted twice."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: folds cannot overlap")
    start = clock.now.replace(hour=12)
    clock.set(start)
    fold(app)  # the cursors exist, as the migration leaves them
    for email in ("a@example.org", "b@example.org"):
        sign(app, petition, email)
    clock.set(start + 2 * petition_figures.LAG)
    with app.app_context():
        first, second = Session(db.engine), Session(db.engine)
        try:
            assert petition_figures.tally(first) == 2  # holds the cursors, uncommitted
            assert petition_figures.tally(second) == 0  # skipped them, did not wait
            second.commit()
            first.commit()
        finally:
            first.close()
            second.close()
    fold(app)
    body = app.test_client().get(f"/p/{SLUG}/figures.json").get_data(as_text=True)
    assert [d["signed"] for d in json.loads(body)["days"]] == [2]
