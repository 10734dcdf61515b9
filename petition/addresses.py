"""Email addresses and client addresses as the service keeps them.

An email is checked and normalized for sending, and made canonical for de-duplication
(one spelling per mailbox); client addresses and other identifiers are kept only as
keyed hashes. Core: signing, the rate limits and screening all use these.
"""

from __future__ import annotations

import hashlib
import hmac

import email_validator

# Providers that deliver "a.b+tag@" to "ab@": the same person must not sign twice.
_DOTS_IGNORED = {"gmail.com", "googlemail.com"}
_PLUS_TAGS = _DOTS_IGNORED | {
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "fastmail.com",
    "yandex.ru",
    "yandex.com",
}
_ALIASES = {"googlemail.com": "gmail.com"}


class InvalidAddress(ValueError):
    """The address cannot receive mail; the message says why, for the signer."""


def normalize(address: str, *, check_deliverability: bool) -> str:
    """The address as it will be mailed. Raises :class:`InvalidAddress`."""
    try:
        info = email_validator.validate_email(
            address.strip(), check_deliverability=check_deliverability
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from exc
    return info.normalized


def canonical(normalized: str) -> str:
    """One spelling per mailbox: case-folded, provider-ignored dots and tags removed."""
    local, _, domain = normalized.rpartition("@")
    local, domain = local.casefold(), domain.casefold()
    domain = _ALIASES.get(domain, domain)
    if domain in _PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in _DOTS_IGNORED:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256: groups equal values without storing them, irreversible without the key."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def ip_hash_key(secret_key: str) -> bytes:
    """The HMAC key for client addresses, derived from the app's secret key."""
    return (secret_key + ":ip-hash").encode()


def ip_hash(secret: bytes, ip: str | None) -> str | None:
    """What is stored of a client address: a keyed hash, never the address."""
    return keyed_hash(secret, ip) if ip else None
