"""One-time tokens mailed to signers. Only their SHA-256 is ever stored.

Looking a token up by its hash is safe against timing attacks: an attacker who
learns how far two hashes match learns nothing about a token that would produce
a wanted hash.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """A fresh token for the mail, and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
