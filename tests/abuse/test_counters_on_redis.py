"""The mail and burst counters on Redis (one round trip per sign attempt), and what
happens when Redis fails between two checks of the same request."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis
from flask import Flask

from petition.abuse import limits
from petition.extensions import limiter
from tests.abuse.conftest import REDIS_TEST_URL, all_signatures, outbox, post_sign
from tests.conftest import free_port


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
    assert any("/mail/" in key for key in keys)
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
        assert limits._hit_many(checks) == [None, None]
        first, second = limits._hit_many(checks)
    assert first is not None
    assert 1 <= first <= 60
    assert second is None


def test_store_failing_between_checks_counts_in_memory_and_logs(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(ratelimit_storage_uri=f"redis://127.0.0.1:{free_port()}/11")
    caplog.set_level(logging.ERROR)
    with app.test_request_context():
        counts = limits.count_sign_attempt(
            canonical_email="a@example.org", petition_id=1, ip_hash="ab" * 32
        )
        assert counts == limits.SignCounts(mail_allowed=True, is_burst=False)
        assert limiter._storage_dead
        # From now on the same request and the next ones count in memory.
        assert limits._hit_many([("1/minute", ("t", "z"))]) == [None]
        assert limits._hit_many([("1/minute", ("t", "z"))]) != [None]
    assert "counting in memory" in caplog.text
