"""RFC 9457 problem documents: every error the API answers is one of these."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

PROBLEM_JSON = "application/problem+json"
# The one problem type with members beyond the standard ones: field errors.
VALIDATION_TYPE = "urn:petition:problem:validation"


def problem(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem response; ``title`` defaults to the status phrase, as for about:blank."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_problem(errors: dict[str, list[str]]) -> Response:
    """422 naming each field that failed and why, in the form's own words."""
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "Some fields are missing or not valid.",
        type_=VALIDATION_TYPE,
        title="Invalid fields",
        errors=[
            {"field": field, "detail": message}
            for field, messages in sorted(errors.items())
            for message in messages
        ],
    )
