"""Quiet flagging: which checks a new signature trips, decided before it is stored.

A flagged signature is taken exactly like any other (same pages, same email), but
once confirmed it waits for a moderator instead of counting, so a script learns
nothing from the answers it gets. Every sign path (page, widget, API) screens
with :func:`screen` and passes the reasons to :func:`petition.signing.service.sign`.
"""

from __future__ import annotations

import logging

from flask import current_app

from petition.abuse import limits, traps
from petition.abuse.models import FlagReason
from petition.config import Settings

logger = logging.getLogger(__name__)


def screen(
    *,
    petition_id: int,
    email: str,
    ip_hash: str | None,
    honeypot: str | None = None,
    shown_token: str | None = None,
    has_form: bool = True,
) -> frozenset[FlagReason]:
    """The reasons to hold this signature; empty for most people.

    ``has_form`` is false for callers without our HTML form (the JSON API): the
    form's bot traps do not apply to them, the other checks do. Costs no database
    query: the burst check counts in the limiter's store.
    """
    settings: Settings = current_app.config["PETITION_SETTINGS"]
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
    if ip_hash and limits.is_burst(petition_id=petition_id, ip_hash=ip_hash):
        reasons.add(FlagReason.BURST)
    if reasons:
        logger.info(
            "signature on petition %d flagged: %s",
            petition_id,
            ",".join(sorted(reasons)),
        )
    return frozenset(reasons)
