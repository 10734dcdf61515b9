"""Email domains whose signatures are held: throwaway mailboxes and the operator's list.

The throwaway list is the ``disposable-email-domains`` package (the list PyPI
itself uses), pinned in requirements.txt: upgrading the pin updates the list.
The operator's own domains come from ``PETITION_FLAG_BLOCKED_DOMAINS`` (comma
separated) and from a text file, one domain a line, ``#`` starts a comment
(``PETITION_FLAG_BLOCKED_DOMAINS_FILE``, by default ``instance/blocked-domains.txt``).
The file is read again when it changes, at most every few seconds, so editing it
needs no restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable

from disposable_email_domains import blocklist as disposable

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0


def parse_domains(lines: Iterable[str]) -> frozenset[str]:
    """Domains from text lines or a comma-separated setting; blanks and comments skipped."""
    found: set[str] = set()
    for line in lines:
        for part in line.split("#", 1)[0].split(","):
            domain = part.strip().strip(".").casefold()
            if domain:
                found.add(domain)
    return frozenset(found)


def _candidates(domain: str) -> list[str]:
    """The domain and its parents: mail.spam.example → spam.example → example."""
    parts = domain.casefold().strip(".").split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)] or [domain.casefold()]


class DomainBlocklist:
    """Answers whether an email domain is listed; cheap enough for every signature."""

    def __init__(self, *, use_disposable: bool, domains: str, path: str) -> None:
        self._use_disposable = use_disposable
        self._fixed = parse_domains([domains])
        self._path = path
        self._from_file: frozenset[str] = frozenset()
        self._mtime: float | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RECHECK_SECONDS:
            return
        with self._lock:
            self._checked_at = now
            try:
                mtime = os.stat(self._path).st_mtime
            except FileNotFoundError:
                mtime = None
            except OSError as exc:
                logger.error("cannot read blocked domains from %s: %s", self._path, exc)
                return
            if mtime == self._mtime:
                return
            self._mtime = mtime
            if mtime is None:
                self._from_file = frozenset()
                return
            try:
                with open(self._path, encoding="utf-8") as file:
                    self._from_file = parse_domains(file)
            except (OSError, UnicodeDecodeError) as exc:
                logger.error("cannot read blocked domains from %s: %s", self._path, exc)
                return
            logger.info("%d blocked domains read from %s", len(self._from_file), self._path)

    def is_blocked(self, domain: str) -> bool:
        self._reload_if_changed()
        for candidate in _candidates(domain):
            if candidate in self._fixed or candidate in self._from_file:
                return True
            if self._use_disposable and candidate in disposable:
                return True
        return False
