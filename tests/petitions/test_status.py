"""Status rules (petitions.service.TRANSITIONS) and petition text with closing dates."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from petition.db import session_scope
from petition.petitions import service
from petition.petitions.models import Petition, PetitionStatus

S = PetitionStatus


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (S.DRAFT, S.OPEN, True),
        (S.DRAFT, S.CLOSED, False),
        (S.DRAFT, S.DELIVERED, False),
        (S.OPEN, S.CLOSED, True),
        (S.OPEN, S.DRAFT, False),
        (S.OPEN, S.DELIVERED, False),
        (S.CLOSED, S.OPEN, True),
        (S.CLOSED, S.DELIVERED, True),
        (S.DELIVERED, S.OPEN, False),
        (S.DELIVERED, S.CLOSED, False),
    ],
)
def test_transitions(app: Flask, petition: Petition, start: S, to: S, allowed: bool) -> None:
    with app.app_context(), session_scope() as session:
        current = session.merge(petition)
        current.status = start
        if allowed:
            service.change_status(session, petition=current, to=to)
            assert current.status == to
        else:
            with pytest.raises(service.InvalidTransition):
                service.change_status(session, petition=current, to=to)
            assert current.status == start


def test_a_petition_past_its_closing_date_cannot_reopen(app: Flask, petition: Petition) -> None:
    with app.app_context(), session_scope() as session:
        current = session.merge(petition)
        current.status = S.CLOSED
        current.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        with pytest.raises(service.InvalidTransition, match="closing date"):
            service.change_status(session, petition=current, to=S.OPEN)


def test_parse_petition_text_reads_closing_date() -> None:
    source = service.parse_petition_text(
        "---\ntitle: T\nslug: t\ngoal: 10\ncloses: 2030-01-31\n---\nText\n", name="t.md"
    )
    assert source.closes_at == dt.datetime(2030, 1, 31, tzinfo=dt.UTC)
    assert source.goal == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ntitle: T\n---\nText", "lacks slug"),
        ("---\ntitle: T\nslug: t\ngoal: true\n---\nText", "goal"),
        ("---\ntitle: T\nslug: t\ncloses: soon\n---\nText", "closes"),
        ("---\ntitle: T\nslug: t\n---\n", "no text"),
        ("---\ntitle: [\n---\nText", "t.md"),
    ],
)
def test_parse_petition_text_refuses_bad_files(text: str, message: str) -> None:
    with pytest.raises(service.PetitionFileError, match=message):
        service.parse_petition_text(text, name="t.md")
