"""The burst counter on Redis (one round trip per sign attempt), and what
happens when Redis fails between two checks of the same request."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from petition.abuse import counters, limits
from petition.abuse.models import MailboxMail
from petition.db import session_scope
from petition.extensions import limiter
from tests.abuse.conftest import REDIS_TEST_URL, all_signatures, outbox, post_sign
from tests.helpers.servers import free_port


def test_mail_limit_and_burst_count_in_redis(
    make_app: Callable[..., Flask], redis_prefix: str
) -> None:
    app = make_app(
        ratelimit_storage_uri=REDIS_TEST_URL,
        ratelimit_key_prefix=redis_prefix,
        ratelimit_mail_per_email="2/hour;10/day",
        flag_burst_per_ip="2/10 minutes",
    )
    client = app.test_client()
    for n in range(3):
        assert post_sign(client, ip="203.0.113.5", email=f"a{n}@example.org").status_code == 303
    assert [(s.is_held, s.flag_reasons) for s in all_signatures(app)] == [
        (False, None),
        (False, None),
        (True, "burst"),
    ]
    for n in range(2):
        assert post_sign(client, ip=f"198.51.100.{n}", email="a0@example.org").status_code == 303
    # a0's mailbox: the confirmation, one "already signed", then nothing.
    assert [m.template for m in outbox(app)] == ["confirm"] * 3 + ["already_signed"]

    keys = [k.decode() for k in redis.Redis.from_url(REDIS_TEST_URL).keys(f"{redis_prefix}*")]
    # The mail limit is counted in the database (petition.abuse.mailbox), not here.
    assert not any("/mail/" in key for key in keys)
    assert any("/flag-burst/" in key for key in keys)
    assert not any("@" in key or "203.0.113.5" in key for key in keys if "sign-ip" not in key)
    ttls = [redis.Redis.from_url(REDIS_TEST_URL).ttl(key) for key in keys]
    assert all(0 < ttl <= 86400 for ttl in ttls)  # every counter expires with its window


def test_over_the_limit_reports_when_the_window_ends(
    make_app: Callable[..., Flask], redis_prefix: str
) -> None:
    app = make_app(ratelimit_storage_uri=REDIS_TEST_URL, ratelimit_key_prefix=redis_prefix)
    with app.test_request_context():
        checks = [("1/minute;5/hour", ("t", "x")), ("3/minute", ("t", "y"))]
        assert counters.hit_many(checks) == [None, None]
        first, second = counters.hit_many(checks)
    assert first is not None
    assert 1 <= first <= 60
    assert second is None


def test_store_failing_between_checks_counts_in_memory_and_logs(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(ratelimit_storage_uri=f"redis://127.0.0.1:{free_port()}/11")
    caplog.set_level(logging.ERROR)
    with app.test_request_context():
        counts = limits.count_sign_attempt(petition_id=1, ip_hash="ab" * 32)
        assert counts == limits.SignCounts(is_burst=False)
        assert limiter._storage_dead
        # From now on the same request and the next ones count in memory.
        assert counters.hit_many([("1/minute", ("t", "z"))]) == [None]
        assert counters.hit_many([("1/minute", ("t", "z"))]) != [None]
        # Tried again after a pause; still down, so the next pause is longer.
        counters.recheck["at"] = 0.0
        assert counters.usable_redis() is None
        assert counters.recheck["pause"] == 2.0
    assert "counting in memory" in caplog.text


def store_settings(request: pytest.FixtureRequest, store: str) -> dict[str, str]:
    """The settings for counting in this process's memory, or in the test Redis."""
    if store == "memory":
        return {}
    return {
        "ratelimit_storage_uri": REDIS_TEST_URL,
        "ratelimit_key_prefix": request.getfixturevalue("redis_prefix"),
    }


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_refused_attempt_does_not_spend_the_petitions_ceiling(
    make_app: Callable[..., Flask], request: pytest.FixtureRequest, store: str
) -> None:
    overrides = store_settings(request, store)
    app = make_app(
        ratelimit_sign_per_ip="1/minute", ratelimit_sign_per_petition="3/minute", **overrides
    )
    client = app.test_client()
    assert post_sign(client, ip="203.0.113.1", email="a@example.org").status_code == 303
    hammering = [post_sign(client, ip="203.0.113.1", email=f"x{n}@example.org") for n in range(5)]
    assert {r.status_code for r in hammering} == {429}
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in hammering)
    for n, ip in enumerate(["203.0.113.2", "203.0.113.3"]):
        assert post_sign(client, ip=ip, email=f"p{n}@example.org").status_code == 303
    assert post_sign(client, ip="203.0.113.4", email="late@example.org").status_code == 429
    assert len(all_signatures(app)) == 3


def test_limits_go_back_to_redis_when_it_answers_again(
    make_app: Callable[..., Flask], redis_prefix: str
) -> None:
    app = make_app(ratelimit_storage_uri=REDIS_TEST_URL, ratelimit_key_prefix=redis_prefix)
    with app.test_request_context():
        counters.mark_store_down()  # as after a failure
        assert counters.usable_redis() is None  # not tried again at once
        counters.recheck["at"] = 0.0  # time to try again: Redis answers
        assert counters.usable_redis() is limiter.storage
        assert not limiter._storage_dead
    # Signing counts in Redis again.
    assert post_sign(app.test_client()).status_code == 303
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_TEST_URL).keys(f"{redis_prefix}*")]
    assert any("/sign-ip/" in key for key in keys)


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_forms_with_errors_count_and_a_refused_attempt_reaches_no_counter(
    make_app: Callable[..., Flask], request: pytest.FixtureRequest, store: str
) -> None:
    # A valid attempt is admitted together with its burst counter (one round trip on
    # Redis); one with errors is admitted alone. Both draw on the limit.
    overrides = store_settings(request, store)
    app = make_app(ratelimit_sign_per_ip="2/minute", **overrides)
    client = app.test_client()
    assert post_sign(client, email="not an address").status_code == 422
    assert post_sign(client, email="a@example.org").status_code == 303
    refused = post_sign(client, email="b@example.org")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert post_sign(client, email="also not an address").status_code == 429
    assert [s.email for s in all_signatures(app)] == ["a@example.org"]
    if store == "redis":
        keys = [
            k.decode()
            for k in redis.Redis.from_url(REDIS_TEST_URL).keys(
                f"{overrides['ratelimit_key_prefix']}*"
            )
        ]
        [burst] = [key for key in keys if "/flag-burst/" in key]
        # a's attempt; b's refused one counted nowhere.
        assert redis.Redis.from_url(REDIS_TEST_URL).get(burst) == b"1"
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MailboxMail)) == 1
