"""JSON API v1: read-only views of petitions."""

from __future__ import annotations

from http import HTTPStatus

from flask import abort, jsonify
from werkzeug.wrappers import Response

from petition.abuse import limits
from petition.api import bp
from petition.db import get_session
from petition.petitions import service as petitions

# Short enough that a count looks live, long enough that a proxy absorbs a surge.
CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"

# Every read endpoint of the API, per client address (PETITION_RATELIMIT_API_PER_IP).
limits.api_reads(bp)


@bp.get("/petitions/<slug>")
def petition(slug: str) -> Response:
    """A petition's public summary and verified count."""
    found = petitions.get_by_slug(get_session(), slug) or abort(HTTPStatus.NOT_FOUND)
    response = jsonify(petitions.summary(found))
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
