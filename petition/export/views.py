"""The public half of batch signing: the key recipients check batches with."""

from __future__ import annotations

from typing import Any

from flask import Response

from petition.export import bp, keys

# Recipients and caches may keep the key a while; a rotated key is a new file anyway.
KEY_CACHE_CONTROL = "public, max-age=3600"


@bp.get("/.well-known/petition-signing-key.pem")
def signing_key() -> Response:
    """Serve the public key that verifies every batch's manifest.sig."""
    pem = keys.public_pem(keys.app_key().public_key())
    response = Response(pem, mimetype="application/x-pem-file")
    response.headers["Cache-Control"] = KEY_CACHE_CONTROL
    response.headers["Content-Disposition"] = 'inline; filename="petition-signing-key.pem"'
    return response


def _fingerprint() -> str:
    return keys.fingerprint(keys.app_key().public_key())


@bp.app_context_processor
def _key_globals() -> dict[str, Any]:
    # A function, so that only the pages that show the fingerprint read the key.
    return {"signing_key_fingerprint": _fingerprint}
