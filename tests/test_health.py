"""/healthz says the process lives; /readyz says whether its database and Redis answer."""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
from pathlib import Path

from flask import Flask

from petition import create_app
from petition.config import Settings
from petition.db import db
from tests.conftest import REDIS_URL
from tests.helpers.servers import free_port


def test_healthz_and_readyz_answer_ok_when_everything_does(client: object) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)  # type: ignore[attr-defined]
        assert response.status_code == HTTPStatus.OK
        assert response.headers["Cache-Control"] == "no-store"
        assert response.get_json()["status"] == "ok"
    assert client.get("/readyz").get_json()["checks"] == {"database": "ok"}  # type: ignore[attr-defined]


def test_readyz_checks_redis_when_limits_are_stored_there(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, ratelimit_storage_uri=REDIS_URL))
    assert app.test_client().get("/readyz").get_json()["checks"] == {
        "database": "ok",
        "redis": "ok",
    }
    dead = create_app(
        dataclasses.replace(settings, ratelimit_storage_uri=f"redis://127.0.0.1:{free_port()}/1")
    )
    response = dead.test_client().get("/readyz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }
    assert dead.test_client().get("/healthz").status_code == HTTPStatus.OK
    for each in (app, dead):
        with each.app_context():
            db.engine.dispose()


def test_readyz_is_503_and_healthz_200_when_the_database_cannot_be_reached(
    tmp_path: Path,
) -> None:
    app: Flask = create_app(
        Settings(
            database_url=f"postgresql://petition@127.0.0.1:{free_port()}/petition",
            instance_path=str(tmp_path / "instance"),
            database_connect_timeout_seconds=1,
            testing=True,
        )
    )
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert ready.get_json()["checks"] == {"database": "unavailable"}
    assert client.get("/healthz").status_code == HTTPStatus.OK
    with app.app_context():
        db.engine.dispose()
