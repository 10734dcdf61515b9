"""The web tier rides through a database restart and answers 503 while it is down.

A PostgreSQL cluster of the test's own is stopped (fast shutdown, as a restart) or
crashed (immediate shutdown) by its PID; the app keeps its pool across it.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from petition import create_app
from petition.config import Settings
from petition.db import db, session_scope
from petition.petitions import service as petitions
from petition.signing.models import Signature
from tests.helpers import DARAA
from tests.helpers.forms import sign_form

pytestmark = pytest.mark.faults

SLUG = "defend-the-people-of-daraa"


@pytest.fixture
def outage_app(own_postgres: Any, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        Settings(
            database_url=own_postgres.new_database(own_postgres.template),
            instance_path=str(tmp_path / "instance"),
            base_url="http://localhost",
            page_cache_seconds=0,
            testing=True,
        )
    )
    with app.app_context(), session_scope() as session:
        petitions.publish(session, source=petitions.parse_petition_file(DARAA))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGQUIT], ids=["restarted", "crashed"])
def test_pages_answer_503_while_the_database_is_down_and_the_next_request_succeeds(
    outage_app: Flask, own_postgres: Any, how: signal.Signals
) -> None:
    client = outage_app.test_client()
    form = sign_form(client, SLUG)  # the pool now holds a connection
    assert client.get(f"/p/{SLUG}").status_code == HTTPStatus.OK

    own_postgres.stop(how)
    page = client.get(f"/p/{SLUG}")
    assert page.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert page.headers["Retry-After"] == "5"
    html = page.get_data(as_text=True)
    assert "Service unavailable" in html
    assert '<header class="site-header">' in html  # in the site's layout
    api = client.get(f"/api/v1/petitions/{SLUG}")
    assert api.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert api.headers["Retry-After"] == "5"
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == HTTPStatus.SERVICE_UNAVAILABLE
    signed = client.post(f"/p/{SLUG}/sign", data=form)
    assert signed.status_code == HTTPStatus.SERVICE_UNAVAILABLE

    own_postgres.start()
    # The pooled connections died with the server; pre-ping replaces them unseen.
    assert client.get(f"/p/{SLUG}").status_code == HTTPStatus.OK
    with outage_app.app_context(), session_scope(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    again = client.post(f"/p/{SLUG}/sign", data=form)
    assert again.status_code == HTTPStatus.SEE_OTHER


def test_a_restart_between_two_requests_is_not_seen(outage_app: Flask, own_postgres: Any) -> None:
    client = outage_app.test_client()
    assert client.get(f"/p/{SLUG}").status_code == HTTPStatus.OK
    own_postgres.stop(signal.SIGINT)
    own_postgres.start()
    assert client.get(f"/p/{SLUG}").status_code == HTTPStatus.OK
    assert client.get(f"/api/v1/petitions/{SLUG}").status_code == HTTPStatus.OK


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word, as a host behind a dead link."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_an_unreachable_database_answers_503_within_the_connect_timeout(
    silent_server: int, tmp_path: Path
) -> None:
    app = create_app(
        Settings(
            database_url=f"postgresql://petition@127.0.0.1:{silent_server}/petition",
            instance_path=str(tmp_path / "instance"),
            database_connect_timeout_seconds=1,
            testing=True,
        )
    )
    started = time.monotonic()
    response = app.test_client().get(f"/p/{SLUG}")
    elapsed = time.monotonic() - started
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.headers["Retry-After"] == "5"
    assert elapsed < 4
    with app.app_context():
        db.engine.dispose()
