"""What the service reads from a request before any view: ids in paths, JSON bodies.

Browsers never send the requests these limits refuse; scripts probing for a 500 do.
Each refusal is a clear 4xx raised before a database or a parser sees the input.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, abort, request
from flask import Request as FlaskRequest
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map, ValidationError

# The largest value of a signed 64-bit column (BIGINT, SQLite's INTEGER): a larger
# id cannot name a row, and SQLite's driver raises OverflowError on binding it.
ID_MAX = 2**63 - 1
# Every body the service takes is flat (the API's signature is one object of strings
# and booleans). Python's parser recurses once per level and fails with
# RecursionError, not ValueError, near 1,000 levels; refuse long before that.
JSON_MAX_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


class BoundedId(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits naming a row, 1 … 2⁶³−1, else 404.

    Registered as ``int`` itself, so a new route cannot forget it. Werkzeug's own
    matches any Unicode digit (``٣`` is 3) and has no upper bound.
    """

    regex = r"[0-9]{1,19}"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = ID_MAX) -> None:
        super().__init__(
            map, fixed_digits=fixed_digits, min=min, max=max if max < ID_MAX else ID_MAX
        )

    def to_python(self, value: str) -> Any:
        if not value.isascii():
            raise ValidationError()
        return super().to_python(value)


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than :data:`JSON_MAX_DEPTH`."""


def json_depth(data: bytes) -> int:
    """How deep arrays and objects nest in ``data``, without parsing it (strings skipped)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", data)):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing a document nested too deep before parsing it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        data = s.encode() if isinstance(s, str) else s
        if json_depth(data) > JSON_MAX_DEPTH:
            raise JSONTooDeep(f"JSON nested more than {JSON_MAX_DEPTH} levels deep.")
        return super().loads(s, **kwargs)


class Request(FlaskRequest):
    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """400 saying what was wrong (Flask's own hides it outside debug mode)."""
        if isinstance(e, JSONTooDeep):
            raise BadRequest(f"The body is {e}")
        if e is None:
            raise BadRequest("The body must be sent as application/json.")
        raise BadRequest("The body is not valid JSON.")


def refuse_nul() -> None:
    """400 for a NUL character in the path, the query or a form field.

    No text the service keeps may hold one (PostgreSQL refuses it in any text value,
    so a slug or a field with one was a 500 there), and a browser never sends one.
    Other control characters are each field's validators' business.
    """
    values = [request.path]
    values += [value for _, found in request.args.lists() for value in found]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [value for _, found in request.form.lists() for value in found]
    if any("\x00" in value for value in values):
        abort(HTTPStatus.BAD_REQUEST, description="The request holds a NUL character.")


def no_store_with_token(response: Response) -> Response:
    """``Cache-Control: no-store`` on every answer whose address carries a ``<token>``.

    A one-time token in a cached page (a proxy's, the browser's) is a stranger's to use;
    every route with one gets this without saying so.
    """
    if request.view_args and "token" in request.view_args:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Bind the limits; before any blueprint registers, so every rule gets the converter,
    and before CSRF, so a NUL is refused before anything reads the form's fields."""
    app.url_map.converters["int"] = BoundedId
    app.request_class = Request
    app.json = JSONProvider(app)
    app.before_request(refuse_nul)
    app.after_request(no_store_with_token)
