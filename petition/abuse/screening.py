"""What to do with a sign attempt that passed the hard limits, decided before it is stored.

One quiet decision, invisible in the answer: whether to flag it. A flagged signature
is taken exactly like any other (same pages, same email), but once confirmed it waits
for a moderator instead of counting, so a script learns nothing from the answers it
gets. Every sign path (page, widget, API) goes through
:func:`petition.signing.service.take`, which calls :func:`screen`, then the mailbox's
mail limit (:mod:`petition.abuse.mailbox`, in the database), and passes ``flags`` to
:func:`petition.signing.service.sign`.
"""

from __future__ import annotations

import dataclasses
import logging

from petition.abuse import limits, traps
from petition.abuse.counters import Check
from petition.abuse.models import FlagReason
from petition.config import current_settings

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Screening:
    # Why to hold the signature for a moderator; empty for most people.
    flags: frozenset[FlagReason] = frozenset()


def screen(
    *,
    petition_id: int,
    email: str,
    ip_hash: str | None,
    honeypot: str | None = None,
    shown_token: str | None = None,
    has_form: bool = True,
    admit: list[Check] | None = None,
) -> Screening:
    """Screen a sign attempt with a valid, normalized ``email``.

    ``has_form`` is false for callers without our HTML form (the JSON API): the
    form's bot traps do not apply to them, the other checks do. Costs no database
    query: the burst counter lives in the limiter's store. ``admit``: the
    hard limits to admit the attempt against first, in the same round trip
    (:func:`petition.abuse.limits.count_sign_attempt`; raises ``TooManyRequests``).
    """
    counts = limits.count_sign_attempt(petition_id=petition_id, ip_hash=ip_hash, admit=admit)
    settings = current_settings()
    reasons: set[FlagReason] = set()
    if has_form:
        reasons |= traps.check(
            secret_key=settings.secret_key,
            honeypot=honeypot,
            shown_token=shown_token,
            min_fill_seconds=settings.flag_min_fill_seconds,
        )
    if limits.blocklist().is_blocked(email.rpartition("@")[2]):
        reasons.add(FlagReason.DOMAIN)
    if counts.is_burst:
        reasons.add(FlagReason.BURST)
    if reasons:
        logger.info(
            "signature on petition %d flagged: %s",
            petition_id,
            ",".join(sorted(reasons)),
        )
    return Screening(flags=frozenset(reasons))
