"""``/healthz`` and ``/readyz``, for load balancers, orchestrators and supervisors.

``/healthz``: the process answers (it touches nothing else, so a database outage does not
get every process restarted). ``/readyz``: the database answers, and Redis too when rate
limits are stored there; 503 with what failed otherwise, so a load balancer sends no
requests to a process that would answer them 503 anyway. Neither is cached, limited or
logged in detail.
"""

from __future__ import annotations

from http import HTTPStatus

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from petition.config import current_settings
from petition.db import get_session

bp = Blueprint("health", __name__)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """The process lives."""
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> Response:
    """The database (and Redis, when configured) answer: ready for requests."""
    checks: dict[str, str] = {}
    try:
        get_session().execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError:
        checks["database"] = "unavailable"
    if current_settings().ratelimit_storage_uri.startswith(("redis://", "rediss://")):
        from petition.extensions import limiter

        try:
            checks["redis"] = "ok" if limiter.storage.check() else "unavailable"
        except Exception:  # the store's client raises its own errors; any means not ready
            checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
    return _no_store(response)
