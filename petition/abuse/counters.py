"""The counters behind the signing and login limits, on Flask-Limiter's store.

Each Redis round trip shows in the signing path's throughput, so these make their own
calls on the store Flask-Limiter uses (its key format, and its in-memory fallback
while the store is down): a sign attempt is admitted against its limits and counted
against its informing counters (mail, burst) in one Lua call. When the store fails,
counting goes on in memory and the store is tried again with growing pauses.
:mod:`petition.abuse.limits` says which limits a request meets; this module counts.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import RedisClusterStorage, RedisStorage

from petition.extensions import limiter

logger = logging.getLogger(__name__)

# What a limit counts: the limits (``"10/minute;100/hour"``) and the identifiers
# that name one bucket of them.
Check = tuple[str, tuple[str, ...]]


@lru_cache(maxsize=64)
def parsed(limits: str) -> tuple[RateLimitItem, ...]:
    # Shortest window first: a refused attempt does not use up the longer windows.
    return tuple(sorted(parse_many(limits)))


def hit(limits: str, *identifiers: str) -> int | None:
    """Count one event in every window of ``limits``.

    Returns ``None`` while within them, else the seconds until the exceeded window
    ends. A store that fails counts as within the limits (and is logged): these
    counters only decide about mail and flags, never whether anyone may sign.
    """
    try:
        strategy = limiter.limiter  # the in-memory fallback while the store is down
        for item in parsed(limits):
            if not strategy.hit(item, *identifiers):
                reset_at = strategy.get_window_stats(item, *identifiers).reset_time
                return max(1, math.ceil(reset_at - time.time()))
    except Exception:
        logger.exception("rate-limit store failed; counting %s as within limits", identifiers[0])
    return None


# While the store is marked down, when to try it again (with growing pauses), like
# Flask-Limiter does for the limits it checks itself.
recheck = {"at": 0.0, "pause": 1.0}
MAX_RECHECK_PAUSE = 32.0


def mark_store_down() -> None:
    limiter._storage_dead = True
    recheck["at"] = time.monotonic() + recheck["pause"]


def usable_redis() -> RedisStorage | None:
    """The Redis store, unless it is down (then retried with growing pauses)."""
    storage = limiter.storage
    # Redis Cluster refuses calls over keys of several slots: count key by key there.
    if not isinstance(storage, RedisStorage) or isinstance(storage, RedisClusterStorage):
        return None
    if not limiter._storage_dead:
        return storage
    now = time.monotonic()
    if now < recheck["at"]:
        return None
    if storage.check():
        limiter._storage_dead = False
        recheck["pause"] = 1.0
        return storage
    recheck["pause"] = min(recheck["pause"] * 2, MAX_RECHECK_PAUSE)
    recheck["at"] = now + recheck["pause"]
    return None


# For the first ARGV[1] keys (the limits that admit an attempt): test every window
# first and count in all of them only if none is full. Then, for the rest of KEYS (the
# counters that only inform, as _hit_many_on_redis does): start each window with its
# expiry, count, and say when it ends. Atomically, in one round trip.
_ADMIT_AND_COUNT_LUA = """
local n = tonumber(ARGV[1])
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current >= tonumber(ARGV[2 * i]) then
    return {i, redis.call('PTTL', KEYS[i])}
  end
end
for i = 1, n do
  if redis.call('INCRBY', KEYS[i], 1) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 1])
  end
end
local out = {0, 0}
for j = n + 1, #KEYS do
  redis.call('SET', KEYS[j], 0, 'EX', ARGV[n + 1 + j], 'NX')
  out[#out + 1] = redis.call('INCRBY', KEYS[j], 1)
  out[#out + 1] = redis.call('PTTL', KEYS[j])
end
return out
"""
_scripts: weakref.WeakKeyDictionary[RedisStorage, dict[str, Any]] = weakref.WeakKeyDictionary()


def _script(storage: RedisStorage, source: str) -> Any:
    """``source`` registered once per store (EVALSHA after the first call)."""
    registered = _scripts.setdefault(storage, {})
    if source not in registered:
        connection: Any = storage.get_connection()
        registered[source] = connection.register_script(source)
    return registered[source]


def admit_only(checks: list[Check]) -> int | None:
    """Admit one attempt against every window of ``checks``; ``None`` when admitted,
    else the seconds until the full window ends. A refused attempt counts nowhere."""
    items = [(item, identifiers) for limits, identifiers in checks for item in parsed(limits)]
    storage = usable_redis()
    if storage is not None:
        try:
            full, ttl_ms = _script(storage, _ADMIT_AND_COUNT_LUA)(
                keys=[storage.prefixed_key(item.key_for(*ids)) for item, ids in items],
                args=[
                    len(items),
                    *(value for item, _ids in items for value in (item.amount, item.get_expiry())),
                ],
            )[:2]
        except Exception:
            logger.exception("rate-limit store failed; counting in memory for now")
            mark_store_down()
        else:
            return None if int(full) == 0 else max(1, math.ceil(max(int(ttl_ms), 0) / 1000))
    for _attempt in range(2):
        try:
            return _admit_key_by_key(items)
        except Exception:
            if limiter._storage_dead:
                break
            # The store failed (Redis Cluster, or memory:// never does): go on in memory.
            logger.exception("rate-limit store failed; counting in memory for now")
            mark_store_down()
    logger.error("rate-limit fallback failed; admitting the attempt")
    return None


def _admit_key_by_key(items: list[tuple[RateLimitItem, tuple[str, ...]]]) -> int | None:
    strategy = limiter.limiter  # the in-memory fallback while the store is down
    for item, ids in items:
        if not strategy.test(item, *ids):
            reset_at = strategy.get_window_stats(item, *ids).reset_time
            return max(1, math.ceil(reset_at - time.time()))
    for item, ids in items:
        strategy.hit(item, *ids)
    return None


def hit_many(checks: list[Check]) -> list[int | None]:
    """:func:`hit` for several counters; on Redis in one round trip.

    Each Redis round trip is measured in this service's throughput (on a busy
    machine a round trip costs a context switch to Redis and back), so the
    counters a sign attempt needs go out together, in one MULTI/EXEC. Every
    window is counted, also beyond one that is already exceeded.
    """
    storage = usable_redis()
    if storage is None:
        return [hit(limits, *identifiers) for limits, identifiers in checks]
    try:
        return _hit_many_on_redis(storage, checks)
    except Exception:
        # Like Flask-Limiter itself: count in memory until the store answers again.
        logger.exception("rate-limit store failed; counting in memory for now")
        mark_store_down()
        return [None] * len(checks)


def _hit_many_on_redis(storage: RedisStorage, checks: list[Check]) -> list[int | None]:
    # The keys are the ones limits' fixed window uses. SET NX EX starts a window
    # with its expiry, INCRBY counts in it (keeping the expiry), PTTL says when it
    # ends; in one transaction, so a window cannot expire between the two.
    connection: Any = storage.get_connection()  # a redis.Redis client
    pipe = connection.pipeline(transaction=True)
    plan: list[tuple[int, RateLimitItem]] = []
    for index, (limits, identifiers) in enumerate(checks):
        for item in parsed(limits):
            key = storage.prefixed_key(item.key_for(*identifiers))
            pipe.set(key, 0, ex=item.get_expiry(), nx=True)
            pipe.incrby(key, 1)
            pipe.pttl(key)
            plan.append((index, item))
    replies = pipe.execute()
    found: list[int | None] = [None] * len(checks)
    for n, (index, item) in enumerate(plan):
        count, ttl_ms = int(replies[3 * n + 1]), int(replies[3 * n + 2])
        if count > item.amount:
            retry_after = max(1, math.ceil(max(ttl_ms, 0) / 1000))
            found[index] = max(found[index] or 0, retry_after)
    return found


def admit_and_hit(admit: list[Check], checks: list[Check]) -> tuple[int | None, list[int | None]]:
    """:func:`admit` then, if admitted, :func:`hit_many`; on Redis in one script.

    Returns the seconds until the full window ends (``None`` when admitted) and the
    counters as :func:`hit_many` gives them (empty when refused: nothing was counted).
    """
    storage = usable_redis()
    if storage is not None:
        try:
            return _admit_and_hit_on_redis(storage, admit, checks)
        except Exception:
            logger.exception("rate-limit store failed; counting in memory for now")
            mark_store_down()
    refused = admit_only(admit)
    if refused is not None:
        return refused, []
    return None, hit_many(checks)


def _admit_and_hit_on_redis(
    storage: RedisStorage, admit: list[Check], checks: list[Check]
) -> tuple[int | None, list[int | None]]:
    gates = [(item, ids) for limits, ids in admit for item in parsed(limits)]
    plan = [
        (index, item, ids) for index, (limits, ids) in enumerate(checks) for item in parsed(limits)
    ]
    replies = _script(storage, _ADMIT_AND_COUNT_LUA)(
        keys=[storage.prefixed_key(item.key_for(*ids)) for item, ids in gates]
        + [storage.prefixed_key(item.key_for(*ids)) for _index, item, ids in plan],
        args=[
            len(gates),
            *(value for item, _ids in gates for value in (item.amount, item.get_expiry())),
            *(item.get_expiry() for _index, item, _ids in plan),
        ],
    )
    if int(replies[0]):
        return max(1, math.ceil(max(int(replies[1]), 0) / 1000)), []
    found: list[int | None] = [None] * len(checks)
    for n, (index, item, _ids) in enumerate(plan):
        count, ttl_ms = int(replies[2 + 2 * n]), int(replies[3 + 2 * n])
        if count > item.amount:
            retry_after = max(1, math.ceil(max(ttl_ms, 0) / 1000))
            found[index] = max(found[index] or 0, retry_after)
    return None, found


def reset() -> None:
    """Forget that the store was down: the limiter is one per process, and a store
    marked dead for an earlier app (tests build many) must not carry over."""
    limiter._storage_dead = False
    recheck.update(at=0.0, pause=1.0)
