"""Hard rate limits in layers (HTTP 429), on Flask-Limiter and its store.

Layers, each set by a ``PETITION_RATELIMIT_*`` setting (defaults in config.py and
the README):

- signing per client address (a burst window and a sustained one);
- signing per petition as a whole: a high ceiling that protects the mail sender;
- (mail per canonical email address is not here: it must be exact whatever the
  store, so it lives in the database, :mod:`petition.abuse.mailbox`);
- API reads per client address;
- login attempts per client address and per account (for the organizers' login).

The client address is ``request.remote_addr``: the direct peer, or with
``PETITION_PROXY_HOPS=N`` what ProxyFix took from exactly N trusted hops of
``X-Forwarded-For``. A client's own ``X-Forwarded-For`` entries sit in front of
those the proxies append and are never read.

Storage is ``PETITION_RATELIMIT_STORAGE_URI``: ``memory://`` counts per process,
``redis://`` shares counts between every process and machine. When the store
fails, Flask-Limiter's in-memory fallback keeps the same limits per process and
the store is tried again with growing pauses: signing goes on (a flood is still
slowed by each process) instead of answering 500 or letting everything through.
An error is logged when that happens, a warning when the store is back.

Logins use Flask-Limiter's decorators. API reads are counted in process and added
to the store in batches (:mod:`petition.abuse.batched`). Signing, the hot path, makes
its own calls on the same store and fallback, because each Redis round trip shows
in its throughput: a valid sign attempt is admitted against the address and
petition limits and counted against its burst counter in one Lua call,
which also keeps a refused attempt from counting anywhere; an attempt refused for
its form is admitted alone (one call too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from petition.abuse import counters
from petition.abuse.batched import BatchedLimit
from petition.abuse.blocklist import DomainBlocklist
from petition.abuse.counters import Check
from petition.addresses import keyed_hash
from petition.config import Settings, current_settings
from petition.db import utcnow
from petition.extensions import limiter

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# Retry-After when the store cannot say when a window ends.
DEFAULT_RETRY_SECONDS = 60
# A store that does not answer within this must not hold up a signer.
REDIS_TIMEOUT_SECONDS = 0.5


def client_ip() -> str:
    """The client address the limits count by (after ProxyFix, if configured)."""
    return request.remote_addr or "unknown"


def _petition_slug() -> str:
    return str((request.view_args or {}).get("slug", ""))


# --- limits on views ------------------------------------------------------------


def api_reads(bp: Blueprint) -> None:
    """Limit every GET and HEAD of ``bp`` per client address
    (PETITION_RATELIMIT_API_PER_IP), counted in process and added to the store in
    batches (:mod:`petition.abuse.batched`): a Redis round trip per read cost more
    than a kept answer itself."""

    @bp.before_request
    def _limit_reads() -> None:
        if request.method in ("GET", "HEAD"):
            read_limit: BatchedLimit = current_app.extensions["petition.api_read_limit"]
            retry_after = read_limit.hit(client_ip())
            if retry_after is not None:
                raise TooManyRequests(retry_after=retry_after)


login_per_ip = limiter.shared_limit(
    lambda: current_settings().ratelimit_login_per_ip,
    scope="login-ip",
    key_func=client_ip,
    methods=["POST"],
)

# The blueprints whose views carry none of Flask-Limiter's decorators. Flask-Limiter
# checks every request otherwise, also pages that have none: a seventh of a kept
# petition page's time. Signing and API reads count through their own calls below;
# the updates' unsubscribe links, like confirm and withdraw, carry a one-time token.
UNLIMITED_BLUEPRINTS = frozenset(
    {"petitions", "signing", "widget", "mail", "export", "updates", "api", "health"}
)


# Flask-Limiter registers it as partial(Limiter.__inject_headers, limiter).
_LIMITER_AFTER_REQUEST = getattr(type(limiter), "_Limiter__inject_headers", None)


def _skip_unlimited_blueprints(app: Flask) -> None:
    """Run Flask-Limiter's before-request check only outside UNLIMITED_BLUEPRINTS.

    Its request filters (``limiter.request_filter``) skip the look-up but not the rest
    of the check; a kept petition page still spent a tenth of its time there.
    """
    check = limiter._check_request_limit
    hooks = app.before_request_funcs.setdefault(None, [])

    def check_limited_blueprints() -> None:
        if request.blueprint not in UNLIMITED_BLUEPRINTS:
            check()

    hooks[hooks.index(check)] = check_limited_blueprints
    # Its after-request hook too (a fifteenth of a kept widget frame): it only sends
    # X-RateLimit headers (off) and settles deductions for limits checked above.
    after = app.after_request_funcs.setdefault(None, [])
    [inject] = [f for f in after if getattr(f, "func", None) is _LIMITER_AFTER_REQUEST]

    def after_limited_blueprints(response: Response) -> Response:
        if request.blueprint in UNLIMITED_BLUEPRINTS:
            return response
        return cast(Response, inject(response))

    after[after.index(inject)] = after_limited_blueprints


def signing_checks() -> list[Check]:
    """The page's and the widget's limits on a sign attempt: per client address and
    per petition (``<slug>`` in the URL). The API shares the petition's, see
    :func:`api_signing_limits`."""
    settings = current_settings()
    return [
        (settings.ratelimit_sign_per_ip, ("sign-ip", client_ip())),
        (settings.ratelimit_sign_per_petition, ("sign-petition", _petition_slug())),
    ]


def check_signing_limits() -> None:
    """Admit a sign attempt against :func:`signing_checks`, for an attempt that goes
    no further (a form with errors). A valid one is admitted by
    :func:`count_sign_attempt`, in the same round trip as its counters.

    A refused attempt is counted nowhere, so one address hammering the form cannot
    spend the petition's ceiling for everyone.

    Raises :class:`werkzeug.exceptions.TooManyRequests` (a 429 with ``Retry-After``).
    """
    _refuse_if_full(counters.admit_only(signing_checks()))


def _refuse_if_full(retry_after: int | None) -> None:
    if retry_after is not None:
        logger.info("sign attempt on %s refused by a rate limit", _petition_slug())
        raise TooManyRequests(retry_after=retry_after)


def api_signing_limits(partner_key: Callable[[], str]) -> Callable[[F], F]:
    """The signatures API's limits, checked before the view in one round trip.

    Per partner key (``partner_key()`` names the presented key's bucket); per client
    address a budget of the API's own, as a partner's server relays many people;
    and the petition's ceiling, shared with the page and the widget.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            settings = current_settings()
            retry_after = counters.admit_only(
                [
                    (settings.ratelimit_api_sign_per_key, ("api-sign-key", partner_key())),
                    (settings.ratelimit_api_sign_per_ip, ("api-sign-ip", client_ip())),
                    (settings.ratelimit_sign_per_petition, ("sign-petition", _petition_slug())),
                ]
            )
            if retry_after is not None:
                logger.info("API sign attempt on %s refused by a rate limit", _petition_slug())
                raise TooManyRequests(retry_after=retry_after)
            return view(*args, **kwargs)

        return cast(F, limited)

    return decorate


@dataclasses.dataclass(frozen=True)
class SignCounts:
    # Whether this attempt goes beyond the quiet burst threshold of its address on
    # this petition.
    is_burst: bool


def count_sign_attempt(
    *,
    petition_id: int,
    ip_hash: str | None,
    admit: list[Check] | None = None,
) -> SignCounts:
    """Count a sign attempt against its address's burst threshold on the petition; no
    database query. (The mailbox's mail limit is counted in the database, by
    :func:`petition.abuse.mailbox.allow_mail`.)

    With ``admit`` (:func:`signing_checks`), first admit the attempt against those
    limits, in the same round trip to the store: a sign attempt costs one, not two
    (each showed in the throughput). A refused attempt is counted nowhere.

    Every attempt counts, whatever the address's state, so the answer says nothing
    about whether the address has signed. The store sees only keyed hashes.

    Raises :class:`werkzeug.exceptions.TooManyRequests` when ``admit`` refuses.
    """
    settings = current_settings()
    checks: list[Check] = []
    if ip_hash:
        checks.append((settings.flag_burst_per_ip, ("flag-burst", str(petition_id), ip_hash)))
    if admit:
        refused, found = counters.admit_and_hit(admit, checks)
        _refuse_if_full(refused)
    elif checks:
        found = counters.hit_many(checks)
    else:
        found = []
    return SignCounts(is_burst=bool(found) and found[0] is not None)


def check_login_attempt(account: str) -> None:
    """Count a login attempt for ``account`` (an email or user name, as typed).

    Call it for every attempt, whether the account exists or not, before checking
    the password: the answer must not tell which accounts exist. The login view is
    decorated with :data:`login_per_ip` for the per-address layer.

    Raises :class:`werkzeug.exceptions.TooManyRequests` (answered as a 429 page with
    ``Retry-After``) when the account's limit is exceeded.
    """
    settings = current_settings()
    key = keyed_hash((settings.secret_key + ":login-limit").encode(), account.strip().casefold())
    retry_after = counters.hit(settings.ratelimit_login_per_account, "login-account", key)
    if retry_after is not None:
        logger.warning("login attempts over the per-account limit")
        raise TooManyRequests(retry_after=retry_after)


# --- the 429 answer --------------------------------------------------------------


def _retry_after(exc: TooManyRequests) -> int:
    if isinstance(exc.retry_after, int):
        return exc.retry_after
    current = limiter.current_limit if isinstance(exc, RateLimitExceeded) else None
    if current is None:
        return DEFAULT_RETRY_SECONDS
    try:
        reset_at = current.window.reset_time
        return max(1, math.ceil(reset_at - time.time()))
    except Exception:
        logger.exception("rate-limit store failed while computing Retry-After")
        return DEFAULT_RETRY_SECONDS


def come_back(retry_after: int) -> dict[str, Any]:
    """What a 429 page says of when to come back (``abuse/_come_back.html``): the wait
    in seconds and in whole minutes, and the time (UTC)."""
    return {
        "retry_after": retry_after,
        "minutes": max(1, math.ceil(retry_after / 60)),
        "come_back_at": utcnow() + dt.timedelta(seconds=retry_after),
    }


def too_many_requests(exc: TooManyRequests) -> Response:
    """429 in the site's layout, or an RFC 9457 problem document under /api/."""
    retry_after = _retry_after(exc)
    when = come_back(retry_after)
    detail = _(
        "Too many requests. Please try again in %(minutes)d minutes.", minutes=when["minutes"]
    )
    if request.path.startswith("/api/"):
        response = jsonify(
            type="about:blank",
            title="Too Many Requests",
            status=HTTPStatus.TOO_MANY_REQUESTS,
            detail=detail,
            retry_after=retry_after,
        )
        response.mimetype = "application/problem+json"
    else:
        response = current_app.make_response(render_template("abuse/rate_limited.html", **when))
    response.status_code = HTTPStatus.TOO_MANY_REQUESTS
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- set-up ----------------------------------------------------------------------


def storage_options(settings: Settings) -> dict[str, Any]:
    """Options for the limiter store: Redis keys under our prefix, short timeouts."""
    if settings.ratelimit_storage_uri.startswith("memory://"):
        return {}
    return {
        "key_prefix": settings.ratelimit_key_prefix,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        # The fallback, not redis-py's retries, handles a store that is down.
        "retry_on_error": [],
    }


def warn_if_unshared(settings: Settings, *, workers: int, log: logging.Logger = logger) -> bool:
    """Log loudly when production runs several workers on per-process counts."""
    if not (
        settings.is_production
        and workers > 1
        and settings.ratelimit_storage_uri.startswith("memory://")
    ):
        return False
    log.warning(
        "RATE LIMITS ARE NOT SHARED: %d workers with PETITION_RATELIMIT_STORAGE_URI=memory:// "
        "each count on their own, so every limit is in effect %d times higher. "
        "Set PETITION_RATELIMIT_STORAGE_URI=redis://host:6379/0.",
        workers,
        workers,
    )
    return True


def init_app(app: Flask) -> None:
    settings = current_settings(app)
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings),
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        # X-RateLimit-* headers on every answer would cost a store round trip and
        # would show a script how close it is to each limit. 429s carry Retry-After.
        RATELIMIT_HEADERS_ENABLED=False,
    )
    # The limiter is one object for the process; a store marked dead for an
    # earlier app (tests build many) must not carry over to this one.
    counters.reset()
    limiter.init_app(app)
    _skip_unlimited_blueprints(app)
    app.register_error_handler(TooManyRequests, too_many_requests)
    app.extensions["petition.api_read_limit"] = BatchedLimit(
        settings.ratelimit_api_per_ip, scope="api-read"
    )
    app.extensions["petition.blocklist"] = DomainBlocklist(
        use_disposable=settings.flag_disposable_domains,
        domains=settings.flag_blocked_domains,
        path=settings.flag_blocked_domains_file,
    )
    state = {"dead": False}

    @app.after_request
    def _log_store_state(response: Response) -> Response:
        dead = bool(limiter._storage_dead)
        if dead != state["dead"]:
            state["dead"] = dead
            if dead:
                logger.error(
                    "rate-limit store %s unreachable: limits now count per process "
                    "(in-memory fallback) until it answers again",
                    settings.ratelimit_storage_uri.split("@")[-1],
                )
            else:
                logger.warning("rate-limit store answers again: limits are shared again")
        return response


def blocklist() -> DomainBlocklist:
    found: DomainBlocklist = current_app.extensions["petition.blocklist"]
    return found
