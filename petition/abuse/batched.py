"""Read limits counted in this process and added to the shared store in batches.

A read answered from the micro-cache costs well under a millisecond; a Redis round
trip per read to count its client address (and Flask-Limiter's evaluation around
it) cost more than the answer itself (issue 19). So each process counts the reads of
every address itself and adds what it counted to the store in one Lua call for many
addresses: every ``BATCH`` reads, every ``INTERVAL`` seconds, and at once for an
address that has read ``slack`` times since (a small share of its limit) or that is
near its limit by what the store last said. The store answers each address's total,
and an address over a limit is refused in this process until its window ends,
without asking again.

What it gives up: between two batches another process's reads of one address are
not seen, so one address reading through P processes gets at most its limit plus
P × (slack - 1) answers per window. For a limit of 300/minute the slack is 6; a
limit under 50 has a slack of 1, so every read is added at once and the limit is
exact. The keys, windows and fallback are Flask-Limiter's fixed windows (the same
as :mod:`petition.abuse.counters`): a window starts with its first counted hit,
and while Redis is down the counts go to the in-memory fallback.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from limits import RateLimitItem

from petition.abuse.counters import _script, mark_store_down, parsed, usable_redis
from petition.extensions import limiter

logger = logging.getLogger(__name__)

# Reads from all addresses between two additions to the store, and the longest wait.
BATCH = 100
INTERVAL = 0.25
# Addresses whose counts (or refusals) this process remembers within their windows;
# beyond that the expired ones go, then all (an address forgotten is counted afresh,
# its first reads added at once as its slack runs out).
MAX_REMEMBERED = 20_000

# For each key: add ARGV[i] to it (starting its window with its expiry when it is
# new, as Flask-Limiter's fixed window does), answer its total and time to live.
_ADD_LUA = """
local out = {}
for i = 1, #KEYS do
  local n = tonumber(ARGV[2 * i - 1])
  local total = redis.call('INCRBY', KEYS[i], n)
  if total == n then
    redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
  end
  out[#out + 1] = total
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out
"""


class BatchedLimit:
    """The limits ``limits`` (``"300/minute"``) per client address, under ``scope``."""

    def __init__(self, limits: str, *, scope: str) -> None:
        self.items: tuple[RateLimitItem, ...] = parsed(limits)
        self.scope = scope
        self.slack = [max(1, item.amount // 50) for item in self.items]
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._pending_total = 0
        self._synced_at = time.monotonic()
        # Per address: the store's total in each window and when each window ends
        # (time.time()), from the last addition; kept for addresses seen more than once.
        self._known: dict[str, tuple[list[int], list[float]]] = {}
        # Per address over a limit: when it may read again (time.time()).
        self._refused_until: dict[str, float] = {}

    def hit(self, address: str) -> int | None:
        """Count one read by ``address``: ``None`` when within the limits, else the
        seconds until it may read again. A read refused in this process is not
        counted; one refused by the store's answer was (as Flask-Limiter counts)."""
        now = time.time()
        with self._lock:
            until = self._refused_until.get(address)
            if until is not None:
                if until > now:
                    return max(1, math.ceil(until - now))
                del self._refused_until[address]
            pending = self._pending.get(address, 0) + 1
            self._pending[address] = pending
            self._pending_total += 1
            known = self._known.get(address)
            urgent = False
            for i, item in enumerate(self.items):
                total = known[0][i] if known is not None and known[1][i] > now else 0
                if pending >= self.slack[i] or total + pending >= item.amount:
                    urgent = True
            due = (
                urgent
                or self._pending_total >= BATCH
                or time.monotonic() - self._synced_at >= INTERVAL
            )
            if not due:
                return None
            batch, self._pending, self._pending_total = self._pending, {}, 0
            self._synced_at = time.monotonic()
        totals = self._add(batch)
        return self._remember(totals, now, asking=address)

    def _add(self, batch: dict[str, int]) -> dict[str, list[tuple[int, float]]]:
        """Add ``batch`` to the store: each address's (total, seconds left) per window."""
        plan = [(address, item) for address in batch for item in self.items]
        storage = usable_redis()
        if storage is not None:
            try:
                replies = _script(storage, _ADD_LUA)(
                    keys=[storage.prefixed_key(item.key_for(self.scope, a)) for a, item in plan],
                    args=[
                        value
                        for address, item in plan
                        for value in (batch[address], item.get_expiry())
                    ],
                )
            except Exception:
                logger.exception("rate-limit store failed; counting reads in memory for now")
                mark_store_down()
            else:
                found: dict[str, list[tuple[int, float]]] = {}
                for n, (address, _item) in enumerate(plan):
                    total, ttl_ms = int(replies[2 * n]), max(int(replies[2 * n + 1]), 0)
                    found.setdefault(address, []).append((total, ttl_ms / 1000))
                return found
        return self._add_in_memory(batch, plan)

    def _add_in_memory(
        self, batch: dict[str, int], plan: list[tuple[str, RateLimitItem]]
    ) -> dict[str, list[tuple[int, float]]]:
        # memory:// (development), Redis Cluster, or the fallback while Redis is down.
        found: dict[str, list[tuple[int, float]]] = {}
        try:
            storage: Any = limiter.limiter.storage
            for address, item in plan:
                key = item.key_for(self.scope, address)
                total = int(storage.incr(key, item.get_expiry(), amount=batch[address]))
                left = max(0.0, float(storage.get_expiry(key)) - time.time())
                found.setdefault(address, []).append((total, left))
        except Exception:
            logger.exception("rate-limit fallback failed; admitting these reads")
            return {}
        return found

    def _remember(
        self, totals: dict[str, list[tuple[int, float]]], now: float, *, asking: str
    ) -> int | None:
        refused: int | None = None
        with self._lock:
            if len(self._known) + len(totals) > MAX_REMEMBERED:
                self._forget_expired(now)
            for address, windows in totals.items():
                over = [
                    left
                    for (total, left), item in zip(windows, self.items, strict=True)
                    if total > item.amount
                ]
                if over:
                    self._refused_until[address] = now + max(over)
                    if address == asking:
                        refused = max(1, math.ceil(max(over)))
                if any(total > 1 for total, _left in windows):
                    self._known[address] = (
                        [total for total, _left in windows],
                        [now + left for _total, left in windows],
                    )
        return refused

    def _forget_expired(self, now: float) -> None:
        self._known = {a: k for a, k in self._known.items() if max(k[1]) > now}
        self._refused_until = {a: t for a, t in self._refused_until.items() if t > now}
        if len(self._known) > MAX_REMEMBERED // 2:
            self._known.clear()
