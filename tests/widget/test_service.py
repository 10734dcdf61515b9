"""Origins, the framing allowlist, and the signed form token."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from petition.db import session_scope, utcnow
from petition.petitions.models import Petition
from petition.widget import service
from petition.widget.service import FormTokenState

KEY = "a-test-secret-key-of-enough-length-000"
HOUR = dt.timedelta(hours=1)


class FakePetition:
    def __init__(self, id_: int) -> None:
        self.id = id_


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("HTTPS://Campaign.Example", "https://campaign.example"),
        ("https://campaign.example:443/", "https://campaign.example"),
        ("http://127.0.0.2:8080", "http://127.0.0.2:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_origins_are_normalized(value: str, origin: str) -> None:
    assert service.normalize_origin(value) == origin


@pytest.mark.parametrize(
    "value",
    [
        "campaign.example",
        "javascript:alert(1)",
        "https://campaign.example/page",
        "https://campaign.example?x=1",
        "https://user@campaign.example",
        "https://a b.example",
        "https://a.example;script-src *",
        "https://a.example:99999",
        "null",
    ],
)
def test_what_is_not_an_origin_is_refused(value: str) -> None:
    with pytest.raises(service.InvalidOrigin):
        service.normalize_origin(value)
    assert service.origin_or_none(value) is None


def test_the_referer_wins_over_the_claimed_origin() -> None:
    assert (
        service.embedding_origin(
            referer="https://news.example/article?id=3", claimed="https://other.example"
        )
        == "https://news.example"
    )
    assert service.embedding_origin(referer=None, claimed="https://news.example") == (
        "https://news.example"
    )
    assert service.embedding_origin(referer="garbage", claimed="junk") is None


def test_a_token_is_valid_for_its_petition_and_names_the_site() -> None:
    token = service.issue_form_token(
        secret_key=KEY, petition=FakePetition(1), origin="https://news.example"
    )
    check = service.check_form_token(
        secret_key=KEY, petition=FakePetition(1), token=token, max_age=HOUR
    )
    assert check == service.FormTokenCheck(FormTokenState.VALID, "https://news.example")


def test_forged_expired_and_foreign_tokens_are_told_apart() -> None:
    petition = FakePetition(1)
    good = service.issue_form_token(secret_key=KEY, petition=petition, origin=None)
    old = service.issue_form_token(
        secret_key=KEY, petition=petition, origin="https://news.example", now=utcnow() - 2 * HOUR
    )
    other = service.issue_form_token(secret_key=KEY, petition=FakePetition(2), origin=None)
    forged = service.issue_form_token(secret_key="another-key", petition=petition, origin=None)

    def state(token: str) -> service.FormTokenCheck:
        return service.check_form_token(
            secret_key=KEY, petition=petition, token=token, max_age=HOUR
        )

    assert state(good).state == FormTokenState.VALID
    assert state(old) == service.FormTokenCheck(FormTokenState.EXPIRED, "https://news.example")
    assert state(other).state == FormTokenState.OTHER_PETITION
    assert state(forged).state == FormTokenState.INVALID
    assert state(good[:-2]).state == FormTokenState.INVALID
    assert state("").state == FormTokenState.INVALID
    # A payload swapped under a genuine signature does not verify.
    tail = good.partition(".")[2]
    other_head = other.partition(".")[0]
    assert state(f"{other_head}.{tail}").state == FormTokenState.INVALID


def test_the_allowlist_becomes_frame_ancestors(app: Flask, petition: Petition) -> None:
    with app.app_context(), session_scope() as session:
        merged = session.merge(petition)
        assert service.frame_ancestors(merged) == "*"
        allowed = service.set_embed_origins(
            session,
            petition=merged,
            origins=["https://b.example", "HTTPS://A.example/", "https://b.example"],
            actor="cli:test",
        )
        assert allowed == ["https://a.example", "https://b.example"]
        assert service.frame_ancestors(merged) == "https://a.example https://b.example"
        service.set_embed_origins(session, petition=merged, origins=[], actor="cli:test")
        assert service.frame_ancestors(merged) == "'none'"
        with pytest.raises(service.InvalidOrigin):
            service.set_embed_origins(
                session, petition=merged, origins=["https://x.example/p"], actor="cli:test"
            )
        service.set_embed_origins(session, petition=merged, origins=None, actor="cli:test")
        assert service.frame_ancestors(merged) == "*"
