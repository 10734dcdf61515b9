"""API read limits counted in process and added to the store in batches: still limits,
across processes too, and a crowd of readers loses no count."""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from petition.abuse import batched
from tests.abuse.conftest import REDIS_TEST_URL, SLUG

URL = f"/api/v1/petitions/{SLUG}"


def _read(client: FlaskClient, ip: str) -> int:
    return client.get(URL, environ_base={"REMOTE_ADDR": ip}).status_code


def _stored(prefix: str) -> dict[str, int]:
    store = redis.Redis.from_url(REDIS_TEST_URL)
    return {
        key.decode(): int(store.get(key) or 0)
        for key in store.scan_iter(f"{prefix}*")
        if b"/api-read/" in key
    }


@pytest.mark.parametrize("limit", ["3/minute", "60/minute"])
def test_one_address_gets_exactly_its_limit_then_429_on_redis(
    make_app: Callable[..., Flask], redis_prefix: str, limit: str
) -> None:
    # Under 50 per window the slack is 1: every read is added to Redis at once.
    amount = int(limit.split("/")[0])
    app = make_app(
        ratelimit_api_per_ip=limit,
        ratelimit_storage_uri=REDIS_TEST_URL,
        ratelimit_key_prefix=redis_prefix,
    )
    client = app.test_client()
    statuses = [_read(client, "203.0.113.9") for _ in range(amount + 3)]
    assert statuses == [200] * amount + [429] * 3
    refused = client.get(URL, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.mimetype == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _read(client, "203.0.113.10") == HTTPStatus.OK
    assert sum(_stored(redis_prefix).values()) >= amount + 1


def test_two_processes_reading_for_one_address_reach_one_limit(
    make_app: Callable[..., Flask], redis_prefix: str
) -> None:
    # 200/minute: a slack of 4, so each process may hand out at most 3 reads that
    # the other has not seen yet before it asks the store.
    settings = {
        "ratelimit_api_per_ip": "200/minute",
        "ratelimit_storage_uri": REDIS_TEST_URL,
        "ratelimit_key_prefix": redis_prefix,
    }
    clients = [make_app(**settings).test_client(), make_app(**settings).test_client()]
    answered = 0
    for n in range(400):
        answered += _read(clients[n % 2], "198.51.100.77") == HTTPStatus.OK
    assert 200 <= answered <= 200 + 2 * 3
    assert {_read(c, "198.51.100.77") for c in clients} == {429}


def test_a_crowd_of_readers_is_counted_in_batches_and_nothing_is_lost(
    make_app: Callable[..., Flask], redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ratelimit_storage_uri=REDIS_TEST_URL, ratelimit_key_prefix=redis_prefix)
    client = app.test_client()
    readers = [f"2001:db8::{n:x}" for n in range(1, 251)]
    # Added every 100 reads (or 0.25 s): not one round trip per read. On a loaded machine
    # 250 reads can take seconds, and the last of them could fall due by time and add all;
    # the reads-per-batch trigger is what this part checks, so time does not fall due.
    with monkeypatch.context() as during_the_crowd:
        during_the_crowd.setattr(batched, "INTERVAL", 3600.0)
        assert {_read(client, ip) for ip in readers} == {200}
    stored = _stored(redis_prefix)
    assert len(stored) == 2 * batched.BATCH < len(readers)
    time.sleep(batched.INTERVAL + 0.05)
    assert _read(client, readers[0]) == HTTPStatus.OK  # due: this read adds the rest
    stored = _stored(redis_prefix)
    assert len(stored) == len(readers)
    assert sum(stored.values()) == len(readers) + 1


def test_without_redis_the_limit_holds_in_the_process(make_app: Callable[..., Flask]) -> None:
    app = make_app(ratelimit_api_per_ip="100/minute")  # memory://, slack 2
    client = app.test_client()
    statuses = [_read(client, "192.0.2.5") for _ in range(103)]
    assert statuses.count(200) == 100
    assert statuses[-3:] == [429] * 3
