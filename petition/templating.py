"""What every template can use: the locale, its direction, the language switch."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_babel import get_locale

from petition import i18n


def init_app(app: Flask) -> None:
    @app.context_processor
    def _page_globals() -> dict[str, Any]:
        locale = str(get_locale() or "en")
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
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
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
