"""Bot traps in the sign form: a field people never see, and the time it took.

Neither trap rejects anything: a caught submission is flagged and treated exactly
like any other (see :mod:`petition.abuse.screening`), so a script learns nothing
from its answers. They catch naive scripts; a careful bot that loads the page,
waits and leaves the hidden field empty gets past them and meets the burst check
and the hard limits instead.
"""

from __future__ import annotations

import datetime as dt

from itsdangerous import BadSignature, TimestampSigner

from petition import signers
from petition.abuse.models import FlagReason
from petition.db import utcnow

_SALT = "sign-form-shown"
_PAYLOAD = b"shown"


def _signer(secret_key: str) -> TimestampSigner:
    # Built once per key: every load of a kept page or frame signs a form time.
    return signers.timestamp_signer(secret_key, salt=_SALT)


class _SignerAt(TimestampSigner):
    """Signs with a given time: for tests that stand in for a person who took a while."""

    def __init__(self, secret_key: str, at: dt.datetime) -> None:
        super().__init__(secret_key, salt=_SALT)
        self._timestamp = int(at.timestamp())

    def get_timestamp(self) -> int:
        return self._timestamp


def form_shown_token(secret_key: str, *, at: dt.datetime | None = None) -> str:
    """A signed timestamp of when the form was rendered, for a hidden field."""
    signer = _signer(secret_key) if at is None else _SignerAt(secret_key, at)
    return signer.sign(_PAYLOAD).decode("ascii")


def check(
    *, secret_key: str, honeypot: str | None, shown_token: str | None, min_fill_seconds: int
) -> set[FlagReason]:
    """The traps a submission fell into; empty for a person."""
    reasons: set[FlagReason] = set()
    if honeypot:
        reasons.add(FlagReason.HONEYPOT)
    if min_fill_seconds <= 0:
        return reasons
    try:
        _, shown_at = _signer(secret_key).unsign(shown_token or "", return_timestamp=True)
    except BadSignature:
        reasons.add(FlagReason.NO_FORM_TIME)
        return reasons
    if utcnow() - shown_at < dt.timedelta(seconds=min_fill_seconds):
        reasons.add(FlagReason.TOO_FAST)
    return reasons
