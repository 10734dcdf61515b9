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
import secrets
from typing import Any

from flask import Flask
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from werkzeug.wrappers import Response


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


class NewReader:
    """A CSRF token and the session cookie that holds it, for a reader with no session
    (and the token again for a reader whose session holds only that).

    Exactly what Flask-WTF's ``generate_csrf()`` and Flask's session would make for an
    empty session (a random raw token in ``session["csrf_token"]``, its signed form in
    the page, the session signed into the cookie), with both signers built once:
    Flask-WTF built a serializer per token and Flask one per cookie, each deriving its
    key again. The POST is still checked by Flask-WTF against the cookie, unchanged.
    """

    def __init__(self, app: Flask) -> None:
        config = app.config
        secret: str | bytes = config.get("WTF_CSRF_SECRET_KEY") or app.secret_key or ""
        if not secret:
            raise RuntimeError("A secret key is required to use CSRF.")
        self.field_name: str = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
        self._csrf = SignedDumps(URLSafeTimedSerializer(secret, salt="wtf-csrf-token"))
        cookies = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if not isinstance(cookies, URLSafeTimedSerializer):
            raise TypeError("the session interface signs no cookie")
        self._session = SignedDumps(cookies)
        self._cookies = cookies
        self._cookie_signer = KeyedOnce(
            cookies.secret_keys, salt=cookies.salt, **cookies.signer_kwargs
        )
        # As Flask's open_session: a cookie older than this is no session.
        self._max_age = int(app.permanent_session_lifetime.total_seconds())
        self.cookie_name: str = app.session_interface.get_cookie_name(app)

    def set_cookie(self, app: Flask, response: Response, value: str) -> None:
        """Set the session cookie to ``value`` as Flask's session would set it (not
        permanent: no expiry), so the page's cookie is the one :meth:`issue` made."""
        interface = app.session_interface
        response.set_cookie(
            interface.get_cookie_name(app),
            value,
            domain=interface.get_cookie_domain(app),
            path=interface.get_cookie_path(app),
            secure=interface.get_cookie_secure(app),
            httponly=interface.get_cookie_httponly(app),
            samesite=interface.get_cookie_samesite(app),
            partitioned=interface.get_cookie_partitioned(app),
        )

    def token_for_session(self, cookie: str) -> str | None:
        """The page's CSRF token for a reader whose session cookie holds a CSRF token and
        nothing else, as ``generate_csrf()`` would sign it; None for any other session
        (an organizer's, one altered or expired), which Flask then opens itself."""
        try:
            data = self._cookies.load_payload(
                self._cookie_signer.unsign(cookie, max_age=self._max_age)
            )
        except BadData:
            return None
        if not isinstance(data, dict) or len(data) != 1:
            return None
        raw = data.get(self.field_name)
        return self._csrf.dumps(raw) if isinstance(raw, str) else None

    def issue(self) -> tuple[str, str, str]:
        """A fresh raw token, its signed form for the page, and the session cookie's value."""
        # Flask-WTF's raw token is sha1(urandom(64)).hexdigest(): 40 hex digits.
        raw = secrets.token_hex(20)
        return raw, self._csrf.dumps(raw), self._session.dumps({self.field_name: raw})


def new_reader(app: Flask) -> NewReader:
    """This app's :class:`NewReader`, made on first use."""
    reader: NewReader | None = app.extensions.get("petition.new_reader")
    if reader is None:
        reader = app.extensions["petition.new_reader"] = NewReader(app)
    return reader
