"""Error pages in the site's layout and the reader's language, never a bare traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from petition.problems import problem

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
        code = exc.code or 500
        # A script that sent JSON reads a problem document, wherever it sent it.
        if request.path.startswith("/api/") or request.is_json:
            response = problem(code, exc.description or exc.name, title=exc.name)
            # Keep what the exception carries (Allow for 405, Retry-After for 429, …).
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        if isinstance(exc, CSRFError):
            name, description = FORM_EXPIRED
        else:
            name, description = MESSAGES.get(code, GENERIC)
        return render_template(
            "errors/error.html", code=code, name=name, description=description
        ), code
