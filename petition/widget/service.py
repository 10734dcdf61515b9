"""The widget's rules: who may frame a petition, and the cookie-free form token.

A browser blocks cookies in a frame on another site, so the widget's sign form
cannot carry the session-bound CSRF token of the petition page. It carries a
stateless token instead: HMAC-signed by the server over the petition, the site
that embeds it and the time it was issued, valid for a limited time. Forging one
needs the secret key; a token copied from one petition does not sign another.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from petition import signers
from petition.audit import service as audit
from petition.petitions.models import Petition

logger = logging.getLogger(__name__)

# Separates these signatures from any other use of the secret key; not a secret.
TOKEN_SALT = "petition.widget.form-token"  # noqa: S105
# Longest origin we record; the signature's source_origin column holds 300.
ORIGIN_MAX = 300
# scheme://host[:port], lower case, nothing else: what a browser puts in Origin,
# and safe to place in a CSP header (no spaces, quotes, semicolons or paths).
_ORIGIN = re.compile(
    r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$"
)


class InvalidOrigin(ValueError):
    """Not a web origin (scheme://host[:port]); the message names it."""


class FormTokenState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    # Not made by this server (altered, truncated or forged).
    INVALID = "invalid"
    # Made by this server, but for another petition's form.
    OTHER_PETITION = "other_petition"


@dataclasses.dataclass(frozen=True)
class FormTokenCheck:
    state: FormTokenState
    # The embedding site the token was issued for, when the token is valid.
    origin: str | None = None


def normalize_origin(value: str) -> str:
    """``value`` as an origin, lower-cased, default port dropped. Raises :class:`InvalidOrigin`."""
    raw = value.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOrigin(f"not an http(s) origin: {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidOrigin(f"an origin has no path, query or user: {value!r}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidOrigin(f"bad port in {value!r}") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")
    if len(origin) > ORIGIN_MAX or not _ORIGIN.match(origin):
        raise InvalidOrigin(f"not a web origin: {value!r}")
    return origin


def origin_or_none(value: str | None) -> str | None:
    """The origin in a header or parameter, or None when it is absent or not one."""
    if not value:
        return None
    try:
        return normalize_origin(value)
    except InvalidOrigin:
        return None


def embedding_origin(*, referer: str | None, claimed: str | None) -> str | None:
    """The site a widget is embedded in, as far as the request shows it.

    The browser's ``Referer`` of the frame's first load names the host page's origin
    (its own default policy sends the origin across sites) and cannot be set by a
    script; ``embed.js`` also passes ``location.origin`` as ``?origin=``, which
    survives a host page's ``no-referrer`` policy but is only a claim. The Referer
    wins when both are there. Either is informational: it is recorded with the
    signature, and the framing itself is enforced by CSP frame-ancestors.
    """
    if referer:
        parts = urlsplit(referer)
        from_referer = origin_or_none(f"{parts.scheme}://{parts.netloc}")
        if from_referer is not None:
            return from_referer
    return origin_or_none(claimed)


# --- who may frame a petition ------------------------------------------------------


def embed_origins(petition: Petition) -> list[str] | None:
    """The sites allowed to frame ``petition``: None means any site, [] none."""
    if petition.embed_origins is None:
        return None
    return petition.embed_origins.split()


def set_embed_origins(
    session: Session, *, petition: Petition, origins: Iterable[str] | None, actor: str
) -> list[str] | None:
    """Allow only ``origins`` to frame the widget (None: any site; empty: none); a
    change is recorded in the audit log as ``actor``'s.

    Raises :class:`InvalidOrigin` naming the first value that is not an origin.
    """
    before = embed_origins(petition)
    if origins is None:
        petition.embed_origins = None
    else:
        normalized = sorted({normalize_origin(origin) for origin in origins})
        petition.embed_origins = " ".join(normalized)
    session.flush()
    after = embed_origins(petition)
    if after != before:
        audit.record(
            session,
            actor=actor,
            action="widget.allow_embed",
            petition_id=petition.id,
            details={"origins": after},
        )
    logger.info("petition %s may be framed by %s", petition.slug, petition.embed_origins or "-")
    return after


def frame_ancestors(petition: Petition) -> str:
    """The CSP ``frame-ancestors`` source list for the widget of ``petition``."""
    allowed = embed_origins(petition)
    if allowed is None:
        # Any web page; "*" in frame-ancestors covers http: and https: pages.
        return "*"
    if not allowed:
        return "'none'"
    return " ".join(allowed)


# --- the cookie-free form token ----------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    # SHA-256 HMAC; itsdangerous compares signatures with hmac.compare_digest.
    return URLSafeTimedSerializer(
        secret_key, salt=TOKEN_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def issue_form_token(
    *, secret_key: str, petition: Petition, origin: str | None, now: dt.datetime | None = None
) -> str:
    """A token for one widget form of ``petition`` shown on the site ``origin``."""
    return issue_form_token_for(
        secret_key=secret_key, petition_id=petition.id, origin=origin, now=now
    )


def issue_form_token_for(
    *, secret_key: str, petition_id: int, origin: str | None, now: dt.datetime | None = None
) -> str:
    """:func:`issue_form_token` by the petition's id (for a kept frame, with no row)."""
    payload = {"p": petition_id, "o": origin}
    if now is None:
        # One HMAC per token: a kept frame asks for one per load (issue 19).
        return signers.url_safe_dumps(secret_key, salt=TOKEN_SALT, digest="sha256").dumps(payload)
    serializer = _serializer(secret_key)
    signer = _SignerAt(
        secret_key, salt=TOKEN_SALT, digest_method=hashlib.sha256, at=int(now.timestamp())
    )
    return signer.sign(serializer.dump_payload(payload)).decode("ascii")


class _SignerAt(TimestampSigner):
    """Signs as if at a given moment (tests and tools issue tokens in the past)."""

    def __init__(self, *args: Any, at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def get_timestamp(self) -> int:
        return self._at


def check_form_token(
    *, secret_key: str, petition: Petition, token: str, max_age: dt.timedelta
) -> FormTokenCheck:
    """Whether ``token`` was issued by this server for ``petition`` within ``max_age``."""
    serializer = _serializer(secret_key)
    state = FormTokenState.VALID
    try:
        payload = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        # Genuine but old: the signer gets a fresh form for the same embedding site.
        state = FormTokenState.EXPIRED
        payload = serializer.load_payload(exc.payload) if exc.payload is not None else None
    except BadSignature:
        return FormTokenCheck(FormTokenState.INVALID)
    if not isinstance(payload, dict) or payload.get("p") != petition.id:
        return FormTokenCheck(FormTokenState.OTHER_PETITION)
    origin = payload.get("o")
    return FormTokenCheck(state, origin_or_none(origin) if isinstance(origin, str) else None)
