"""A few seconds of what every reader and signer asks for, per process.

A surge of readers then costs a dictionary look-up per page or API answer instead
of a render and two queries, and a surge of signers no database read before the
writes (on SQLite, a read first would hold the write lock for the whole request).
The count moves only when the worker folds anyway (every few seconds); the time is
``PETITION_PAGE_CACHE_SECONDS`` (0: nothing is kept, as in the tests).

What is kept: rendered petition pages (with a slot for each reader's CSRF token),
public API answers, and the petition rows behind them. A kept row never decides
alone whether a signature is taken: the insert checks that the petition is open
(:func:`petition.signing.service.sign`).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

import sqlalchemy as sa
from cachetools import TTLCache
from flask import Flask, current_app
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from petition.config import current_settings
from petition.petitions import service
from petition.petitions.models import Petition

# Stands in a cached page where each reader's own CSRF token goes.
CSRF_SLOT = "\x00csrf-token\x00"

_COLUMNS = tuple(attr.key for attr in sa.inspect(Petition).column_attrs)


class MicroCache:
    """Values for a few seconds, in this process (bounded in size, thread-safe)."""

    def __init__(self, seconds: float, maxsize: int = 1024) -> None:
        self._values: TTLCache[Hashable, Any] = TTLCache(maxsize=maxsize, ttl=seconds)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value


def micro_cache() -> MicroCache | None:
    """This process's cache, or None when ``page_cache_seconds`` is 0."""
    cache: MicroCache | None = current_app.extensions.get("petition_micro_cache")
    return cache


def petition_by_slug(session: Session, slug: str) -> Petition | None:
    """:func:`petition.petitions.service.get_by_slug`, from the cache when it has the row.

    The row is kept as plain values, and each caller gets its own instance in its
    session, as if just loaded (without a query): relationships still load lazily.
    """
    cache = micro_cache()
    if cache is None:
        return service.get_by_slug(session, slug)
    values: dict[str, Any] | None = cache.get(("petition", slug))
    if values is None:
        found = service.get_by_slug(session, slug)
        if found is not None:
            cache.put(("petition", slug), {key: getattr(found, key) for key in _COLUMNS})
        return found
    already = session.identity_map.get(identity_key(Petition, values["id"]))
    if already is not None:
        return already
    petition = Petition(**values)
    make_transient_to_detached(petition)
    session.add(petition)
    return petition


def init_app(app: Flask) -> None:
    seconds = current_settings(app).page_cache_seconds
    if seconds > 0:
        app.extensions["petition_micro_cache"] = MicroCache(seconds)
