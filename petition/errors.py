"""Error pages in the site's layout, never a bare traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if request.path.startswith("/api/"):
            return (
                {
                    "type": "about:blank",
                    "title": exc.name,
                    "status": code,
                    "detail": exc.description,
                },
                code,
            )
        return render_template(
            "errors/error.html", code=code, name=exc.name, description=exc.description
        ), code
