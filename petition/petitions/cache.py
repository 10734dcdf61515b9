"""A few seconds of rendered petition pages, per process.

A surge of readers then costs a dictionary look-up and a string replace per page
instead of a render and two queries. The count on the page moves only when the
worker folds anyway (every few seconds).
"""

from __future__ import annotations

import threading

from cachetools import TTLCache
from flask import Flask

# Stands in a cached page where each reader's own CSRF token goes.
CSRF_SLOT = "\x00csrf-token\x00"


class PageCache:
    """Rendered petition pages for a few seconds, in this process (bounded in size)."""

    def __init__(self, seconds: int) -> None:
        self._pages: TTLCache[tuple[str, str, bytes], str] = TTLCache(maxsize=256, ttl=seconds)
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, bytes]) -> str | None:
        with self._lock:
            return self._pages.get(key)

    def put(self, key: tuple[str, str, bytes], html: str) -> None:
        with self._lock:
            self._pages[key] = html


def init_app(app: Flask) -> None:
    seconds = app.config["PETITION_SETTINGS"].page_cache_seconds
    if seconds > 0:
        app.extensions["petition_page_cache"] = PageCache(seconds)
