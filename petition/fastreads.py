"""Kept reads answered before Flask: a surge of readers costs a dictionary look-up each.

The micro-cache (:mod:`petition.petitions.cache`) keeps what the views render, but a
kept read still went through Flask's request machinery (context, routing, locale,
hooks, headers), which was most of what it cost (issue 19). This WSGI middleware,
inside ProxyFix and the host check, keeps for ``PETITION_PAGE_CACHE_SECONDS`` the
whole answer (status, headers, body) of a cookie-free read
(:data:`petition.security.SESSIONLESS_READS`) that its view marked ``public`` and that
sets no cookie, and replays it for the same path, query, scheme and language inputs
(``?lang=`` is in the query; the ``lang`` cookie and ``Accept-Language`` are in the
key). Nothing in such an answer depends on anything else of the request: addresses
come from ``PETITION_BASE_URL`` (issue 20). Conditional requests, answers marked
``no-store`` (the widget's sign form, with its token per load), and everything else go
to Flask. API reads are still counted against the per-address read limit
(:mod:`petition.abuse.batched`) before a kept answer is replayed; an address over it
goes to Flask, which answers the 429.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache
from flask import Flask

from petition.abuse.batched import BatchedLimit
from petition.security import SESSIONLESS_READS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_LANG_COOKIE = re.compile(r"(?:^|;)\s*lang=([^;]*)")
Kept = tuple[str, list[tuple[str, str]], bytes]


class KeptReads:
    """WSGI middleware around ``app``'s own ``wsgi_app``."""

    def __init__(self, app: Flask, seconds: float, maxsize: int = 2048) -> None:
        self.app = app
        self.wsgi_app: WSGIApplication = app.wsgi_app
        self._kept: TTLCache[tuple[str, ...], Kept] = TTLCache(maxsize=maxsize, ttl=seconds)
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        if (
            method not in ("GET", "HEAD")
            or "HTTP_IF_NONE_MATCH" in environ
            or not SESSIONLESS_READS.match(path)
        ):
            return self.wsgi_app(environ, start_response)
        cookie = _LANG_COOKIE.search(environ.get("HTTP_COOKIE", ""))
        key = (
            path,
            environ.get("QUERY_STRING", ""),
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            cookie.group(1) if cookie else "",
        )
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and self._within_read_limit(path, environ):
            status, headers, body = kept
            start_response(status, headers)
            return [b"" if method == "HEAD" else body]
        if kept is not None:
            return self.wsgi_app(environ, start_response)  # over the limit: Flask's 429
        return self._answer_and_keep(key, method, environ, start_response)

    def _within_read_limit(self, path: str, environ: WSGIEnvironment) -> bool:
        if not path.startswith("/api/"):
            return True
        read_limit: BatchedLimit = self.app.extensions["petition.api_read_limit"]
        return read_limit.hit(environ.get("REMOTE_ADDR") or "unknown") is None

    def _answer_and_keep(
        self, key: tuple[str, ...], method: Any, environ: WSGIEnvironment, start: StartResponse
    ) -> Iterable[bytes]:
        answer: dict[str, Any] = {}

        def keep_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer.update(status=status, headers=headers)
            return start(status, headers, exc_info)

        chunks = self.wsgi_app(environ, keep_start)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if method == "GET" and self._keepable(answer):
            with self._lock:
                self._kept[key] = (answer["status"], answer["headers"], body)
        return [body]

    @staticmethod
    def _keepable(answer: dict[str, Any]) -> bool:
        if not str(answer.get("status", "")).startswith("200"):
            return False
        names = {name.lower(): value for name, value in answer.get("headers", [])}
        return "set-cookie" not in names and "public" in names.get("cache-control", "")
