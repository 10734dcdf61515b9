"""Quiet flagging: caught signatures get the same pages and mail, then wait."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import pytest
from flask import Flask

from petition import worker
from petition.abuse import blocklist, traps
from petition.db import utcnow
from tests.abuse.conftest import (
    SLUG,
    all_signatures,
    confirm_all,
    count,
    outbox,
    post_sign,
)


def run_worker(app: Flask) -> None:
    worker.run(app, once=True)


def test_burst_from_one_address_early_ones_count_later_ones_wait(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(flag_burst_per_ip="2/10 minutes")
    client = app.test_client()
    names = ["Amal One", "Amal Two", "Amal Three", "Amal Four"]
    answers = [
        post_sign(client, ip="203.0.113.50", name=name, email=f"a{n}@example.org", public="y")
        for n, name in enumerate(names)
    ]
    # Exactly the same answer for all of them, and the same page behind it.
    assert {a.status_code for a in answers} == {HTTPStatus.SEE_OTHER}
    assert len({(a.headers["Location"], a.get_data()) for a in answers}) == 1
    pages = {client.get(a.headers["Location"]).get_data() for a in answers}
    assert len(pages) == 1
    # The same confirmation email for every one.
    assert [m.template for m in outbox(app)] == ["confirm"] * 4

    rows = all_signatures(app)
    assert [r.is_held for r in rows] == [False, False, True, True]
    assert [r.flag_reasons for r in rows] == [None, None, "burst", "burst"]

    # Another address on the same petition is not affected.
    post_sign(client, ip="203.0.113.51", email="other@example.org")
    assert not all_signatures(app)[-1].is_held

    assert confirm_all(app, client) == 5
    run_worker(app)
    assert count(client) == 3
    page = client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert "Amal One" in page
    assert "Amal Three" not in page  # held signers are not shown either
    assert all(r.sequence is None for r in all_signatures(app) if r.is_held)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"website": "http://spam.example"}, "honeypot"),
        ({"shown": "__now__"}, "too_fast"),
        ({"shown": ""}, "no_form_time"),
        ({"shown": "shown.forged.signature"}, "no_form_time"),
    ],
)
def test_bot_traps_flag_without_refusing(
    make_app: Callable[..., Flask], fields: dict[str, str], reason: str
) -> None:
    app = make_app()
    client = app.test_client()
    person = post_sign(client, email="person@example.org")
    if fields.get("shown") == "__now__":
        fields = {"shown": traps.form_shown_token(app.config["SECRET_KEY"])}
    bot = post_sign(client, email="bot@example.org", **fields)
    assert bot.status_code == person.status_code == HTTPStatus.SEE_OTHER
    assert bot.headers["Location"] == person.headers["Location"]
    assert bot.get_data() == person.get_data()
    assert [m.template for m in outbox(app)] == ["confirm", "confirm"]
    person_row, bot_row = all_signatures(app)
    assert (person_row.is_held, person_row.flag_reasons) == (False, None)
    assert (bot_row.is_held, bot_row.flag_reasons) == (True, reason)

    confirm_all(app, client)
    run_worker(app)
    assert count(client) == 1


def test_the_form_carries_its_traps(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    html = app.test_client().get(f"/p/{SLUG}").get_data(as_text=True)
    assert 'name="website"' in html
    assert 'class="field trap" aria-hidden="true"' in html
    assert 'tabindex="-1"' in html
    assert 'name="shown" type="hidden"' in html


def test_a_person_who_takes_a_while_is_not_flagged(make_app: Callable[..., Flask]) -> None:
    app = make_app(flag_min_fill_seconds=3)
    shown = traps.form_shown_token(app.config["SECRET_KEY"], at=utcnow() - dt.timedelta(seconds=4))
    post_sign(app.test_client(), shown=shown)
    assert not all_signatures(app)[0].is_held


def test_listed_domains_are_flagged(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    listed = tmp_path / "blocked.txt"
    listed.write_text("# spam seen on 2026-11-20\nspam.example\n", encoding="utf-8")
    app = make_app(flag_blocked_domains="junk.example", flag_blocked_domains_file=str(listed))
    client = app.test_client()
    for n, email in enumerate(
        [
            "a@mailinator.com",  # a throwaway-mailbox provider
            "b@mx.spam.example",  # a subdomain of a domain in the operator's file
            "c@junk.example",  # the operator's setting
            "d@example.org",
        ]
    ):
        assert post_sign(client, ip=f"198.51.100.{n}", email=email).status_code == 303
    assert [(r.is_held, r.flag_reasons) for r in all_signatures(app)] == [
        (True, "domain"),
        (True, "domain"),
        (True, "domain"),
        (False, None),
    ]


def test_disposable_list_can_be_switched_off(make_app: Callable[..., Flask]) -> None:
    app = make_app(flag_disposable_domains=False)
    post_sign(app.test_client(), email="a@mailinator.com")
    assert not all_signatures(app)[0].is_held


def test_the_operators_file_is_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocklist, "RECHECK_SECONDS", 0.0)
    path = tmp_path / "blocked.txt"
    listed = blocklist.DomainBlocklist(use_disposable=False, domains="", path=str(path))
    assert not listed.is_blocked("spam.example")
    path.write_text("spam.example\n", encoding="utf-8")
    assert listed.is_blocked("spam.example")
    assert listed.is_blocked("SUB.Spam.Example")
    assert not listed.is_blocked("example")
    path.unlink()
    assert not listed.is_blocked("spam.example")


def test_parse_domains_skips_comments_and_blanks() -> None:
    assert blocklist.parse_domains(
        ["a.example, B.example.", "", "# c.example", "d.example # x"]
    ) == {
        "a.example",
        "b.example",
        "d.example",
    }
