"""Fixtures for limits and flagging: apps with small limits, signing helpers."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.db import session_scope
from petition.mail.models import OutboxMessage
from petition.signing.models import Signature
from tests.helpers import REQUIRE_ALL
from tests.helpers.forms import csrf_from, sign_form

SLUG = "defend-the-people-of-daraa"
# The machine's Redis, a database number of this suite's own (others use other numbers).
REDIS_TEST_URL = os.environ.get("PETITION_TEST_LIMITS_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix for this test in Redis database 11; its keys are deleted after."""
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if REQUIRE_ALL:
            pytest.fail(f"Redis is required in CI but not reachable at {REDIS_TEST_URL}")
        pytest.skip("Redis not reachable")
    prefix = f"petition-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def post_sign(client: FlaskClient, *, ip: str = "127.0.0.1", **fields: str) -> Any:
    """Sign the Daraa petition from ``ip`` as a person would (see conftest.sign_form)."""
    data = sign_form(client, SLUG, **fields)
    return client.post(f"/p/{SLUG}/sign", data=data, environ_base={"REMOTE_ADDR": ip})


def all_signatures(app: Flask) -> list[Signature]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(Signature).order_by(Signature.id)))


def outbox(app: Flask) -> list[OutboxMessage]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def confirm_all(app: Flask, client: FlaskClient) -> int:
    """Confirm every signature that was mailed a confirmation link, like its signer would."""
    confirmed = 0
    for message in outbox(app):
        url = str((message.payload or {}).get("confirm_url", ""))
        found = re.search(r"(/p/[\w-]+/confirm/[\w-]+)", url)
        if not found:
            continue
        page = client.get(found.group(1))
        response = client.post(found.group(1), data={"csrf_token": csrf_from(page.text)})
        confirmed += response.status_code == 200
    return confirmed


def count(client: FlaskClient) -> int:
    return int(client.get(f"/api/v1/petitions/{SLUG}").json["signature_count"])  # type: ignore[index]
