"""itsdangerous signers made once, each key derived once: a token costs one HMAC.

itsdangerous builds a new signer for every ``dumps()`` and derives its key (a hash or an
HMAC of the secret and the salt) again for every signature. For a new reader of a kept
page or widget frame, who needs a token or two and nothing else, that was a visible
share of the answer (issue 19). The format, salts and keys are unchanged: whatever these
make, itsdangerous reads back (the widget's form token, the form-time trap, Flask-WTF's
CSRF token and Flask's session cookie), and the other way round.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


class KeyedOnce(TimestampSigner):
    """A :class:`~itsdangerous.TimestampSigner` that derives each key once.

    The derivation is a pure function of the secret and the salt, so keeping its
    result changes no signature; it only stops recomputing it per token.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[str | bytes | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self._derived.get(secret_key)
        if key is None:
            key = self._derived[secret_key] = super().derive_key(secret_key)
        return key


@functools.lru_cache(maxsize=16)
def timestamp_signer(secret_key: str, *, salt: str) -> KeyedOnce:
    """itsdangerous' default timestamp signer for ``salt`` (SHA-1, django-concat), once."""
    return KeyedOnce(secret_key, salt=salt)


class SignedDumps:
    """``serializer.dumps(obj)`` with the signer built once and its key derived once."""

    def __init__(self, serializer: URLSafeTimedSerializer) -> None:
        self._serializer = serializer
        self._signer = KeyedOnce(
            serializer.secret_keys, salt=serializer.salt, **serializer.signer_kwargs
        )

    def dumps(self, obj: Any) -> str:
        return self._signer.sign(self._serializer.dump_payload(obj)).decode("utf-8")


@functools.lru_cache(maxsize=16)
def url_safe_dumps(secret_key: str, *, salt: str, digest: str = "sha1") -> SignedDumps:
    """:class:`SignedDumps` for ``URLSafeTimedSerializer(secret_key, salt=salt)``, once."""
    return SignedDumps(
        URLSafeTimedSerializer(
            secret_key, salt=salt, signer_kwargs={"digest_method": getattr(hashlib, digest)}
        )
    )
