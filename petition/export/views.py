"""The public half of batch signing: the key recipients check batches with."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, abort, render_template

from petition import i18n
from petition.config import current_settings
from petition.export import batch_key, bp, guide

logger = logging.getLogger(__name__)
_warned: list[bool] = []  # say once per process that the key is missing, not per page

# Recipients and caches may keep the key a while; a rotated key is a new file anyway.
KEY_CACHE_CONTROL = "public, max-age=3600"


@bp.get("/.well-known/petition-signing-key.pem")
def signing_key() -> Response:
    """Serve the public key that verifies every batch's manifest.sig."""
    try:
        pem = batch_key.public_pem(batch_key.app_key().public_key())
    except batch_key.SigningKeyError:
        logger.exception("no batch signing key to publish")
        abort(404)
    response = Response(pem, mimetype="application/x-pem-file")
    response.headers["Cache-Control"] = KEY_CACHE_CONTROL
    response.headers["Content-Disposition"] = 'inline; filename="petition-signing-key.pem"'
    return response


@bp.get(guide.PATH)
def verify_guide() -> Response:
    """Show recipients how to check a batch, in their language, with this service's key."""
    language = i18n.reader_language()
    try:
        body = guide.render_guide(language, base_url=current_settings().base_url)
    except OSError:
        logger.exception("the recipient's guide is missing from this installation")
        abort(404)
    response = Response(
        render_template(
            "export/verify.html",
            guide_html=body,
            guide_language=guide.guide_language(language),
        )
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _fingerprint() -> str | None:
    # A service without its key (misconfigured production) still shows its petitions;
    # only exports refuse to run, and they say why.
    try:
        return batch_key.fingerprint(batch_key.app_key().public_key())
    except batch_key.SigningKeyError as exc:
        if not _warned:
            logger.error("no batch signing key, petition pages show no fingerprint: %s", exc)
            _warned.append(True)
        return None


@bp.app_context_processor
def _key_globals() -> dict[str, Any]:
    # A function, so that only the pages that show the fingerprint read the key.
    return {"signing_key_fingerprint": _fingerprint}
