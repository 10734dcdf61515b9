"""What every template can use: the locale, its direction, the language switch, and
static files addressed by their content (cached for a year, fetched once)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from petition import i18n

# A year: the address changes with the content, so a cached copy is never stale.
STATIC_MAX_AGE = 365 * 86400


@cache
def _fingerprint(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_version(static_folder: str, filename: str) -> str | None:
    """A short hash of a static file's content (``None`` when there is no such file)."""
    path = Path(static_folder) / filename
    try:
        return _fingerprint(path, path.stat().st_mtime_ns)
    except OSError:
        return None


def init_app(app: Flask) -> None:
    @app.url_defaults
    def _version_static_urls(endpoint: str, values: dict[str, Any]) -> None:
        # On a slow connection a revalidation round trip per page adds up: every
        # url_for("static", …) carries ?v=<content hash>, and such a request is
        # answered with a year of max-age. A new deployment changes the hash.
        if endpoint == "static" and "v" not in values and app.static_folder:
            version = static_version(app.static_folder, values.get("filename", ""))
            if version:
                values["v"] = version

    default_max_age = app.get_send_file_max_age

    def _send_file_max_age(filename: str | None) -> int | None:
        if request.args.get("v"):
            return STATIC_MAX_AGE
        return default_max_age(filename)

    app.get_send_file_max_age = _send_file_max_age  # type: ignore[method-assign]

    # {{ petition.status|label("petition_status") }}: an enum's value in the reader's words.
    app.add_template_filter(i18n.label, "label")

    @app.context_processor
    def _page_globals() -> dict[str, Any]:
        locale = i18n.reader_language()
        return {
            "locale": locale,
            "text_direction": i18n.direction(locale),
            "languages": i18n.LANGUAGES,
        }

    @app.after_request
    def _remember_language(response: Response) -> Response:
        if response.mimetype == "text/html":
            # The same address answers in the language of the cookie or the
            # Accept-Language header: a shared cache must keep them apart.
            if "Vary" in response.headers:
                response.vary.update(("Accept-Language", "Cookie"))
            else:
                response.headers["Vary"] = "Accept-Language, Cookie"
        # Following the visible language switch (?lang=) keeps that choice; not in
        # the widget, whose ?lang= comes from the snippet and which sets no cookie.
        if request.blueprint == "widget":
            return response
        chosen = request.args.get("lang")
        if chosen in i18n.LANGUAGES and request.cookies.get(i18n.LANG_COOKIE) != chosen:
            response.set_cookie(
                i18n.LANG_COOKIE,
                chosen,
                max_age=365 * 86400,
                samesite="Lax",
                secure=request.is_secure,
                httponly=True,
            )
        return response
