"""Error pages in the site's layout and the reader's language, never a bare traceback."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from flask import Flask, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.wrappers import Response as BaseResponse

from petition.problems import problem

logger = logging.getLogger(__name__)

# While the database cannot be reached: when to try again, and how often a process
# says so in its log (a surge would otherwise write a line per request).
DATABASE_RETRY_AFTER_SECONDS = 5
_LOG_EVERY_SECONDS = 10.0
_last_logged = 0.0

# Werkzeug's names and descriptions are English only; people see these instead.
# The API keeps Werkzeug's (machine readers want stable English titles).
MESSAGES: dict[int, tuple[LazyString, LazyString]] = {
    400: (
        _l("Bad request"),
        _l("The page could not understand what your browser sent. Please try again."),
    ),
    403: (_l("Not allowed"), _l("You are not allowed to see this page.")),
    404: (
        _l("Page not found"),
        _l("There is no page at this address. It may have moved, or the link may be incomplete."),
    ),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    409: (_l("Conflict"), _l("This could not be done in the current state of the petition.")),
    410: (_l("Gone"), _l("This page no longer exists.")),
    413: (_l("Too much data"), _l("What you sent is too large.")),
    415: (
        _l("Not a form"),
        _l("This page takes what a web browser's form sends. Please use the form on the page."),
    ),
    422: (_l("Please check your input"), _l("Some of what you sent could not be accepted.")),
    429: (
        _l("Too many requests"),
        _l("You have sent too many requests in a short time. Please wait a moment and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An error on our side stopped this page. Nothing was recorded; please try again later."),
    ),
    503: (
        _l("Service unavailable"),
        _l("The service is busy or under maintenance. Please try again in a few minutes."),
    ),
}
GENERIC = (_l("Something went wrong"), _l("This page could not be shown."))
# A form sent without its CSRF token, or with one from an expired session.
FORM_EXPIRED = (
    _l("The form expired"),
    _l("Nothing was recorded. Please go back, reload the page and send the form again."),
)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        return error_response(exc)

    # The database went away (restarted, crashed, unreachable within the connect
    # timeout, or the pool had no connection to give): 503 with Retry-After, in the
    # site's layout or as a problem document, never a 500. The request's transaction
    # is rolled back, so nothing is half-written.
    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    @app.errorhandler(sa.exc.TimeoutError)
    def _database_error(exc: sa.exc.SQLAlchemyError) -> ResponseReturnValue:
        return database_unavailable(exc)


def error_response(exc: HTTPException) -> BaseResponse:
    """The error page (or problem document) for ``exc``, with the headers it carries
    (Allow for 405, Retry-After for 429 and 503, …)."""
    code = exc.code or 500
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    # A script that sent JSON reads a problem document, wherever it sent it.
    if request.path.startswith("/api/") or request.is_json:
        response: BaseResponse = problem(code, exc.description or exc.name, title=exc.name)
    else:
        if isinstance(exc, CSRFError):
            name, description = FORM_EXPIRED
        else:
            name, description = MESSAGES.get(code, GENERIC)
        response = Response(
            render_template("errors/error.html", code=code, name=name, description=description),
            status=code,
            mimetype="text/html",
        )
    for name, value in headers:
        response.headers[name] = value
    return response


def database_unavailable(exc: BaseException) -> BaseResponse:
    """503 with Retry-After because the database did not answer; logged at most every
    few seconds per process."""
    global _last_logged  # one process-wide mark, read and set only here
    now = time.monotonic()
    if now - _last_logged >= _LOG_EVERY_SECONDS:
        _last_logged = now
        cause = getattr(exc, "orig", None) or exc
        logger.warning(
            "database unavailable, answering 503 (%s: %s)",
            type(cause).__name__,
            (str(cause).strip().splitlines() or [""])[0][:200],
        )
    return error_response(ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER_SECONDS))
