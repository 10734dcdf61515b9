"""Kept reads answered before Flask: a surge of readers costs a dictionary look-up each.

The micro-cache (:mod:`petition.petitions.cache`) keeps what the views render, but a
kept read still went through Flask's request machinery (context, routing, locale,
hooks, headers), which was most of what it cost (issue 19). This WSGI middleware,
inside ProxyFix and the host check, keeps for ``PETITION_PAGE_CACHE_SECONDS`` the
whole answer (status, headers, body) of a cookie-free read
(:data:`petition.security.SESSIONLESS_READS`) that its view marked ``public`` and that
sets no cookie, and replays it for the same path, query, scheme and language inputs
(``?lang=`` is in the query; the ``lang`` cookie and the language ``Accept-Language``
prefers, :func:`petition.i18n.accepted_language`, are in the key, not the header's
spelling). Nothing in such an answer depends on anything else of the request:
addresses come from ``PETITION_BASE_URL`` (issue 20). Conditional requests, answers marked
``no-store`` (the widget's sign form, with its token per load), and everything else go
to Flask. API reads are still counted against the per-address read limit
(:mod:`petition.abuse.batched`) before a kept answer is replayed; an address over it
goes to Flask, which answers the 429.

Two answers are the same for every reader but for a token or two, and their views
offer a :class:`petition.replay.Refill`: the petition page as made for a reader with
no session (its CSRF token and the session cookie holding it; keyed on ``?original=``
only, as the view's own cache, and a ``?lang=`` that sets a cookie goes to Flask) and
the widget's sign frame (its form token and form time). Such an answer is kept with
slots where those values stood, only if each value was found in it and it sets no
cookie but through a slot, and every replay fills in the next reader's own: a new
reader gets a new token and cookie, a reader whose session cookie holds only a CSRF
token gets that token signed and no cookie, any other session goes to Flask.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from cachetools import TTLCache
from flask import Flask

from petition import replay
from petition.abuse.batched import BatchedLimit
from petition.i18n import accepted_language
from petition.security import SESSIONLESS_READS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_LANG_COOKIE = re.compile(r"(?:^|;)\s*lang=([^;]*)")
_PAGE = re.compile(r"/p/[^/]+$")


class Kept:
    """An answer to replay: its body cut at its slots (every odd part is one), its
    headers (a value may hold a slot), and what fills the slots for each reader."""

    __slots__ = ("headers", "parts", "refill", "status")

    def __init__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        parts: list[bytes],
        refill: replay.Refill | None,
    ) -> None:
        self.status, self.headers, self.parts, self.refill = status, headers, parts, refill

    def answer(self, environ: WSGIEnvironment) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body for this request, or None when Flask must answer."""
        if self.refill is None:
            return self.headers, self.parts[0]
        values = self.refill.make(environ)
        if values is None:
            return None
        fill = {slot.encode(): value.encode() for slot, value in values.items()}
        parts = self.parts
        body = b"".join(fill[part] if n % 2 else part for n, part in enumerate(parts))
        headers = []
        for name, value in self.headers:
            if "\x00" in value:
                value = _filled(value, values)
                if "\x00" in value:
                    continue  # a slot the refill left out: no such header for this reader
            headers.append((name, value))
        headers.append(("Content-Length", str(len(body))))
        return headers, body


def _filled(value: str, values: Mapping[str, str]) -> str:
    for slot, fresh in values.items():
        value = value.replace(slot, fresh)
    return value


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
        if method not in ("GET", "HEAD") or "HTTP_IF_NONE_MATCH" in environ:
            return self.wsgi_app(environ, start_response)
        cookies = environ.get("HTTP_COOKIE", "")
        if SESSIONLESS_READS.match(path):
            query: str | None = environ.get("QUERY_STRING", "")
        elif _PAGE.match(path):
            # The kept page's refill reads the session cookie; any but a CSRF token's
            # own goes to Flask.
            query = _page_query(environ.get("QUERY_STRING", ""))
        else:
            query = None
        if query is None:
            return self.wsgi_app(environ, start_response)
        cookie = _LANG_COOKIE.search(cookies)
        key = (
            path,
            query,
            environ.get("wsgi.url_scheme", "http"),
            accepted_language(environ.get("HTTP_ACCEPT_LANGUAGE")),
            cookie.group(1) if cookie else "",
        )
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and self._within_read_limit(path, environ):
            try:
                answer = kept.answer(environ)
            except Exception:  # a refill that cannot read this request: Flask's answer
                answer = None
            if answer is None:
                return self.wsgi_app(environ, start_response)
            headers, body = answer
            start_response(kept.status, headers)
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
        if method == "GET" and str(answer.get("status", "")).startswith("200"):
            refill = replay.offered(environ)
            headers: list[tuple[str, str]] = answer.get("headers", [])
            kept = _with_slots(headers, body, refill) if refill else _public(headers, body)
            if kept is not None:
                kept.status = answer["status"]
                with self._lock:
                    self._kept[key] = kept
        return [body]


def _page_query(query: str) -> str | None:
    """What of the page's query its answer depends on (the view's own cache key:
    ``?original=1``), or None for a ``?lang=`` (whose answer may set a cookie)."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(name == "lang" for name, _ in pairs):
        return None
    original = next((value for name, value in pairs if name == "original"), None)
    return "original=1" if original == "1" else ""


def _public(headers: list[tuple[str, str]], body: bytes) -> Kept | None:
    """A cookie-free answer its view marked ``public``: kept whole."""
    names = {name.lower(): value for name, value in headers}
    if "set-cookie" in names or "public" not in names.get("cache-control", ""):
        return None
    return Kept("", headers, [body], None)


def _with_slots(headers: list[tuple[str, str]], body: bytes, refill: replay.Refill) -> Kept | None:
    """The answer with a slot for each of the reader's own values, or None when one of
    them is not in it (say, a cookie signed a second later), or it sets any other
    cookie or a lasting one."""
    found = dict.fromkeys(refill.slots, False)
    kept_headers: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() == "content-length":
            continue  # made again for each reader's body
        for own, slot in refill.slots.items():
            if own in value:
                value, found[own] = value.replace(own, slot), True
        if name.lower() == "set-cookie" and (
            "\x00" not in value or "expires=" in value.lower() or "max-age=" in value.lower()
        ):
            return None
        kept_headers.append((name, value))
    for own, slot in refill.slots.items():
        encoded = own.encode()
        if encoded in body:
            body, found[own] = body.replace(encoded, slot.encode()), True
    if not all(found.values()):
        return None
    slots = "|".join(re.escape(slot) for slot in refill.slots.values())
    parts = re.split(f"({slots})".encode(), body)
    return Kept("", kept_headers, parts, refill)
