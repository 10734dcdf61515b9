"""Why a signature was flagged. Stored on the signature, comma-separated."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from flask_babel import lazy_pgettext

from petition.i18n import register_labels


class FlagReason(enum.StrEnum):
    # More signatures from one address on one petition than people usually send.
    BURST = "burst"
    # The email domain is a throwaway-mailbox provider or on the operator's list.
    DOMAIN = "domain"
    # The field people never see was filled in.
    HONEYPOT = "honeypot"
    # Sent sooner after the form was shown than a person can type it.
    TOO_FAST = "too_fast"
    # The form's signed start time was missing or forged: it was not our page.
    NO_FORM_TIME = "no_form_time"


register_labels(
    "flag_reason",
    FlagReason,
    {
        FlagReason.BURST: lazy_pgettext("flag reason", "burst from one address"),
        FlagReason.DOMAIN: lazy_pgettext("flag reason", "throwaway or listed email domain"),
        FlagReason.HONEYPOT: lazy_pgettext("flag reason", "hidden field filled in"),
        FlagReason.TOO_FAST: lazy_pgettext("flag reason", "sent too fast"),
        FlagReason.NO_FORM_TIME: lazy_pgettext("flag reason", "not sent from our form"),
    },
)


def join_reasons(reasons: Iterable[FlagReason]) -> str | None:
    """The stored form: sorted, comma-separated, or NULL when nothing was flagged."""
    unique = sorted({str(reason) for reason in reasons})
    return ",".join(unique) or None


def split_reasons(stored: str | None) -> list[FlagReason]:
    return [FlagReason(part) for part in (stored or "").split(",") if part]
