"""Fixtures for limits and flagging: apps with small limits, signing helpers."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.db import session_scope
from petition.mail.models import OutboxMessage
from petition.signing.models import Signature
from tests.conftest import csrf_from, sign_form

SLUG = "defend-the-people-of-daraa"


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
