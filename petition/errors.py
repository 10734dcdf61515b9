"""Error pages in the site's layout, never a bare traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from petition.api.problems import problem


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if request.path.startswith("/api/"):
            response = problem(code, exc.description or exc.name, title=exc.name)
            # Keep what the exception carries (Allow for 405, Retry-After for 429, …).
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        return render_template(
            "errors/error.html", code=code, name=exc.name, description=exc.description
        ), code
