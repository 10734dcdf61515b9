"""JSON API v1: public reads (CORS, cacheable) and partner signatures (keyed).

Every answer is described in :mod:`petition.api.openapi`, served at
``/api/v1/openapi.json``; errors are RFC 9457 problem documents.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import abort, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from petition.abuse import limits
from petition.api import bp, openapi
from petition.api import service as keys
from petition.config import current_settings
from petition.db import get_session
from petition.export import batch_key
from petition.i18n import LANGUAGES
from petition.petitions import service as petitions
from petition.petitions.cache import micro_cache, petition_by_slug
from petition.petitions.models import Petition
from petition.problems import problem, validation_problem
from petition.signing import service as signing
from petition.signing.forms import SignForm, signer_from
from petition.signing.models import SignatureSource
from petition.signing.tokens import token_hash
from petition.urls import external_url

# Short enough that a count looks live, long enough that a proxy absorbs a surge.
CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"
# Country breakdowns move slowly and are the largest answers.
COUNTRIES_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
OPENAPI_CACHE_CONTROL = "public, max-age=3600"
# Reads are public: any site's script may fetch them. Nothing else gets CORS headers,
# so a browser on another site cannot send (or read the answer of) a signature POST.
CORS_READ_ENDPOINTS = frozenset(
    {"api.petitions", "api.petition", "api.countries", "api.openapi_document"}
)

# The JSON body's fields and their JSON types; the form checks the values.
SIGN_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "email": (str,),
    "country": (str,),
    "postcode": (str, type(None)),
    "public": (bool,),
    "updates": (bool,),
    "delivery_mail": (bool,),
    "lang": (str,),
}
REQUIRED_FIELDS = ("name", "email", "country")
ACCEPTED_DETAIL = (
    "If this address can sign, a confirmation email is on its way. "
    "The signature counts once the signer opens the link in it."
)


def _petition(slug: str) -> Petition:
    found = petition_by_slug(get_session(), slug)
    if found is None:
        abort(HTTPStatus.NOT_FOUND, description="No public petition has this slug.")
    return found


@bp.after_request
def _cors(response: Response) -> Response:
    if request.endpoint in CORS_READ_ENDPOINTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
            response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
            response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _cacheable(body: Any, cache_control: str) -> Response:
    """A JSON answer with an ETag; a matching If-None-Match gets 304 Not Modified."""
    response = jsonify(body)
    response.headers["Cache-Control"] = cache_control
    response.add_etag()
    return response.make_conditional(request)


def _kept(build: Callable[[], Any], cache_control: str) -> Response:
    """:func:`_cacheable` for a public read, its JSON kept a few seconds in this
    process (petition.petitions.cache): a crowd of widgets and scripts polling a
    count then costs no query."""
    cache = micro_cache()
    if cache is None:
        return _cacheable(build(), cache_control)
    # Addresses in the answer come from PETITION_BASE_URL (petition.urls), so one
    # kept answer serves every reader; nothing from the request's Host is in it.
    key = ("api", request.endpoint, request.path)
    kept: tuple[bytes, str] | None = cache.get(key)
    if kept is None:
        answer = _cacheable(build(), cache_control)
        if answer.status_code == HTTPStatus.OK:
            cache.put(key, (answer.get_data(), answer.get_etag()[0] or ""))
        return answer
    response = Response(kept[0], mimetype="application/json")
    response.headers["Cache-Control"] = cache_control
    response.set_etag(kept[1])
    return response.make_conditional(request)


def _public(petition: Petition) -> dict[str, Any]:
    return {
        **petitions.summary(petition, signing_key_fingerprint=batch_key.app_fingerprint()),
        "url": external_url("petitions.page", slug=petition.slug),
    }


def petitions_list() -> Response:
    """Every public petition with its count."""
    found = petitions.list_public(get_session())
    return _cacheable({"petitions": [_public(p) for p in found]}, CACHE_CONTROL)


# The endpoint keeps the short name that CORS_READ_ENDPOINTS and url_for use.
bp.add_url_rule("/petitions", endpoint="petitions", view_func=petitions_list, methods=["GET"])

# Every read endpoint of the API, per client address (PETITION_RATELIMIT_API_PER_IP).
limits.api_reads(bp)


@bp.get("/petitions/<slug>")
def petition(slug: str) -> Response:
    """A petition's public summary and verified count."""
    return _kept(lambda: _public(_petition(slug)), CACHE_CONTROL)


@bp.get("/petitions/<slug>/countries")
def countries(slug: str) -> Response:
    """Verified signatures of a petition by the signers' country."""

    def build() -> dict[str, Any]:
        found = _petition(slug)
        return {
            "slug": found.slug,
            "signature_count": found.signature_count,
            "countries": petitions.country_counts(get_session(), found),
        }

    return _kept(build, COUNTRIES_CACHE_CONTROL)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return _cacheable(
        openapi.document(server_url=current_settings().base_url), OPENAPI_CACHE_CONTROL
    )


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _per_key() -> str:
    """Rate-limit bucket for the presented key (absent keys share one bucket)."""
    presented = _bearer()
    return token_hash(presented)[:32] if presented else "none"


@bp.post("/petitions/<slug>/signatures")
@limits.api_signing_limits(_per_key)
def sign(slug: str) -> Response:
    """Take a signature from a partner's form or server; the signer confirms by email."""
    petition = _petition(slug)
    check = keys.check_key(get_session(), presented=_bearer(), petition=petition)
    if check.state == keys.KeyState.OTHER_PETITION:
        return problem(HTTPStatus.FORBIDDEN, "This key is for another petition.")
    if check.state != keys.KeyState.VALID or check.key is None:
        detail = {
            keys.KeyState.MISSING: "Send a partner key: Authorization: Bearer <key>.",
            keys.KeyState.UNKNOWN: "This key is not known.",
            keys.KeyState.REVOKED: "This key has been revoked.",
        }.get(check.state, "This key is not valid.")
        return problem(
            HTTPStatus.UNAUTHORIZED,
            detail,
            headers={"WWW-Authenticate": 'Bearer realm="petition-api"'},
        )
    if not request.is_json:
        return problem(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")
    try:
        body = request.get_json()
    except BadRequest as exc:
        # Not JSON, or nested too deep to parse (petition.requests): say which.
        return problem(HTTPStatus.BAD_REQUEST, exc.description or "The body is not valid JSON.")
    if not isinstance(body, dict):
        return problem(HTTPStatus.BAD_REQUEST, "The body must be a JSON object.")
    # Every problem at once: the JSON types first, then the form's rules for the rest.
    errors = _type_errors(body)
    form = SignForm(formdata=_formdata(body), meta={"csrf": False})
    if not form.validate():
        for field, messages in form.errors.items():
            errors.setdefault(field, [str(m) for m in messages])
    if errors:
        return validation_problem(errors)
    if not petition.is_open:
        return _closed()
    settings = current_settings()
    # The mailbox's mail limit and the listed-domain flag, as for the page. Not the
    # form's bot traps (a partner has its own form), nor the per-address burst flag:
    # the address is the partner's server, which relays many people by design; the
    # per-key limit and revocation govern a partner instead.
    try:
        signing.take(
            get_session(),
            petition=petition,
            signer=signer_from(form),
            client=signing.Client(
                ip=request.remote_addr,
                source=SignatureSource.API,
                origin=f"partner:{check.key.name}"[:300],
                locale=body.get("lang") or petition.language,
            ),
            settings=settings,
            form=None,
            burst_by_ip=False,
        )
    except signing.PetitionClosed:
        return _closed()
    # The same answer whether the address is new or has signed already.
    response = jsonify(
        {"status": "confirmation_sent", "petition": petition.slug, "detail": ACCEPTED_DETAIL}
    )
    response.status_code = HTTPStatus.ACCEPTED
    response.headers["Cache-Control"] = "no-store"
    return response


def _closed() -> Response:
    return problem(HTTPStatus.CONFLICT, "This petition is closed and takes no signatures.")


def _type_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in body.keys() - SIGN_FIELDS.keys():
        errors[name] = ["Unknown field."]
    for name, types in SIGN_FIELDS.items():
        if name in body and not isinstance(body[name], types):
            kinds = " or ".join("null" if t is type(None) else _JSON_TYPES[t] for t in types)
            errors[name] = [f"Must be {kinds}."]
    for name in REQUIRED_FIELDS:
        if name not in body:
            errors.setdefault(name, []).append("This field is required.")
    if isinstance(body.get("lang"), str) and body["lang"] not in LANGUAGES:
        errors["lang"] = [f"Must be one of: {', '.join(sorted(LANGUAGES))}."]
    return errors


_JSON_TYPES = {str: "a string", bool: "true or false"}


def _formdata(body: dict[str, Any]) -> MultiDict[str, str]:
    """The JSON body as the sign form's fields, so the same rules apply to both."""
    data: MultiDict[str, str] = MultiDict()
    for name in ("name", "email", "country", "postcode"):
        if isinstance(body.get(name), str):
            data[name] = body[name]
    for name in ("public", "updates", "delivery_mail"):
        if body.get(name) is True:
            data[name] = "y"
    return data
