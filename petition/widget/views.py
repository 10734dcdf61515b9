"""The embeddable widget: embed.js, the framed page, and its cookie-free sign form."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Request, Response

from petition import replay
from petition.abuse import limits, traps
from petition.config import current_settings
from petition.db import get_session
from petition.extensions import csrf
from petition.i18n import reader_language
from petition.petitions import service as petitions
from petition.petitions.cache import micro_cache, petition_by_slug
from petition.petitions.models import Petition
from petition.security import content_security_policy
from petition.signing import service as signing
from petition.signing.forms import signer_from
from petition.signing.models import SignatureSource
from petition.widget import bp, service
from petition.widget.forms import WidgetSignForm

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

MODES = ("sign", "count")


def _petition(slug: str) -> Petition:
    petition = petition_by_slug(get_session(), slug) or abort(HTTPStatus.NOT_FOUND)
    # Read by _frame_policy below: this petition's allowlist decides who may frame us.
    g.widget_petition = petition
    return petition


@bp.after_request
def _frame_policy(response: Response) -> Response:
    petition: Petition | None = g.get("widget_petition")
    slug = (request.view_args or {}).get("slug")
    if petition is None and slug and response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
        # Refused by a rate limit before the view ran: the answer must still show
        # in the frame, so it needs the petition's frame-ancestors too.
        petition = petitions.get_by_slug(get_session(), str(slug))
    if petition is not None:
        ancestors = service.frame_ancestors(petition)
        response.headers["Content-Security-Policy"] = content_security_policy(
            frame_ancestors=ancestors
        )
    # The widget sets no cookie: in a frame on another site it would be blocked
    # anyway, and a signer's visit leaves nothing behind. Its form has no CSRF field,
    # so the session is never touched; the language switch skips the widget too.
    response.headers.pop("Set-Cookie", None)
    return response


def _mode() -> str:
    mode = request.args.get("mode", "sign")
    return mode if mode in MODES else "sign"


@bp.get("/embed.js")
def embed_js() -> Response:
    """The loader that a host page includes with the snippet."""
    path = Path(current_app.static_folder or "static") / "embed.js"
    script, etag = _loader(path, path.stat().st_mtime_ns)
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600, stale-while-revalidate=86400"
    # Host pages that isolate themselves (COEP require-corp) may still load it.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.set_etag(etag)
    return response.make_conditional(request)


@functools.cache
def _loader(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    # Under 5 KB: read and hashed once per version of the file, not per request.
    script = path.read_bytes()
    return script, hashlib.sha256(script).hexdigest()[:32]


# Stand in a kept frame where each load's own form token and form time go.
TOKEN_SLOT = "\x00widget-token\x00"  # noqa: S105 (a placeholder, not a secret)
SHOWN_SLOT = "\x00form-shown\x00"


@dataclasses.dataclass(frozen=True)
class _KeptFrame:
    """A rendered frame, the same for every reader of one petition, language and mode
    but for the sign form's token and time (slots), with its CSP and ETag."""

    html: str
    petition_id: int
    policy: str
    etag: str


@bp.get("/embed/<slug>")
def page(slug: str) -> Response:
    """The framed widget: title, count, progress and (unless mode=count) the sign form."""
    mode = _mode()
    origin = service.embedding_origin(
        referer=request.headers.get("Referer"), claimed=request.args.get("origin")
    )
    cache = micro_cache()
    key = ("widget", slug, reader_language(), mode)
    kept: _KeptFrame | None = cache.get(key) if cache is not None else None
    if kept is None:
        petition = _petition(slug)
        petition_id = petition.id
        form = WidgetSignForm(formdata=None)
        response = _render(petition, form, mode=mode, origin=origin)
        policy = content_security_policy(frame_ancestors=service.frame_ancestors(petition))
        response.headers["Content-Security-Policy"] = policy
        html = response.get_data(as_text=True)
        token, shown = form.token.data, form.shown.data
        if mode == "sign":
            html = html.replace(token, TOKEN_SLOT).replace(shown, SHOWN_SLOT)
        etag = hashlib.sha256(html.encode()).hexdigest()[:32]
        if mode == "count":
            response.set_etag(etag)
        if cache is not None:
            cache.put(key, _KeptFrame(html, petition.id, policy, etag))
    else:
        # No row, no form, no template: a surge of frames costs two replaces each.
        html, petition_id = kept.html, kept.petition_id
        if mode == "sign":
            secret = current_settings().secret_key
            token = service.issue_form_token_for(
                secret_key=secret, petition_id=petition_id, origin=origin
            )
            shown = traps.form_shown_token(secret)
            html = html.replace(TOKEN_SLOT, token).replace(SHOWN_SLOT, shown)
        response = current_app.make_response(html)
        response.headers["Content-Security-Policy"] = kept.policy
        if mode == "count":
            response.set_etag(kept.etag)
    if mode == "sign":
        # Each load carries a fresh token naming the embedding site: never share it.
        response.headers["Cache-Control"] = "no-store"
        # fastreads may replay this frame with the next load's own token and time.
        replay.offer(_frame_refill(petition_id, token=token, shown=shown))
    else:
        response.headers["Cache-Control"] = "public, max-age=5, stale-while-revalidate=30"
        # The language comes from ?lang=, else the lang cookie, else Accept-Language.
        response.vary.update(("Accept-Language", "Cookie"))
        return response.make_conditional(request)
    return response


def _frame_refill(petition_id: int, *, token: str, shown: str) -> replay.Refill:
    """This frame's form token and form time as slots, and the next load's own: its
    token names the site framing it, from that load's Referer or ``?origin=`` (as above)."""
    secret = current_settings().secret_key

    def next_load(environ: WSGIEnvironment) -> dict[str, str]:
        origin = service.embedding_origin(
            referer=environ.get("HTTP_REFERER"), claimed=Request(environ).args.get("origin")
        )
        fresh = service.issue_form_token_for(
            secret_key=secret, petition_id=petition_id, origin=origin
        )
        return {TOKEN_SLOT: fresh, SHOWN_SLOT: traps.form_shown_token(secret)}

    return replay.Refill(slots={token: TOKEN_SLOT, shown: SHOWN_SLOT}, make=next_load)


@bp.post("/embed/<slug>/sign")
def sign(slug: str) -> Response:
    """Take a signature from the widget's form; its signed token stands in for CSRF.

    Every attempt is within the signing rate limits: one refused for its token or
    its fields is checked against them before the answer, a valid one with its
    counters when it is taken (one round trip to the store).
    """
    petition = _petition(slug)
    form = WidgetSignForm()
    if not petition.is_open:
        return _render(petition, form, status=HTTPStatus.CONFLICT)
    problem = _cross_site_problem()
    if problem is not None:
        limits.check_signing_limits()
        return _render(petition, form, status=HTTPStatus.FORBIDDEN, token_problem=problem)
    settings = current_settings()
    check = service.check_form_token(
        secret_key=settings.secret_key,
        petition=petition,
        token=form.token.data or "",
        max_age=dt.timedelta(minutes=settings.widget_token_ttl_minutes),
    )
    if check.state != service.FormTokenState.VALID:
        limits.check_signing_limits()
        return _render(
            petition,
            form,
            status=HTTPStatus.BAD_REQUEST,
            origin=check.origin,
            token_problem=check.state,
        )
    if not form.validate():
        limits.check_signing_limits()
        return _render(petition, form, status=HTTPStatus.UNPROCESSABLE_ENTITY, origin=check.origin)
    # Exactly as on the petition page: the mailbox's mail limit, and the quiet flags
    # (burst, listed domain, and the form's honeypot and timer, which it inherits).
    try:
        signing.take(
            get_session(),
            petition=petition,
            signer=signer_from(form),
            client=signing.Client(
                ip=request.remote_addr,
                source=SignatureSource.WIDGET,
                origin=check.origin,
                locale=reader_language(),
            ),
            settings=settings,
            form=signing.FormTraps(honeypot=form.website.data, shown_token=form.shown.data),
            admit=limits.signing_checks(),
        )
    except signing.PetitionClosed:
        return _render(petition, form, status=HTTPStatus.CONFLICT)
    # The same answer whether the signature was taken, flagged or dropped.
    return redirect(
        url_for("widget.signed", slug=slug, lang=reader_language()), HTTPStatus.SEE_OTHER
    )


# The one view without Flask-WTF's cookie-bound CSRF check: the signed form token,
# Sec-Fetch-Site and Origin checks above replace it.
csrf.exempt(sign)


def _cross_site_problem() -> str | None:
    """Why this POST did not come from the widget's own frame, or None.

    The frame posts to its own origin, so a browser sends ``Sec-Fetch-Site:
    same-origin``; another site's page posting here gets ``cross-site``. A real
    ``Origin`` must be ours; ``Origin: null`` is accepted, as browsers send it for
    requests from pages under strict referrer policies (measured in Chromium).
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return "cross_site"
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        # Ours is the configured public address, or the one this request reached
        # (they differ behind a proxy whose headers are not trusted).
        ours = {
            service.origin_or_none(current_settings().base_url),
            service.origin_or_none(request.host_url),
        }
        if service.origin_or_none(origin) not in ours - {None}:
            return "cross_site"
    return None


@bp.errorhandler(TooManyRequests)
def too_many_requests(exc: TooManyRequests) -> Response:
    """Over a sign limit: say so inside the frame, in the widget's own layout."""
    response = limits.too_many_requests(exc)
    retry_after = int(response.headers.get("Retry-After", "60"))
    page = current_app.make_response(
        (
            render_template("widget/rate_limited.html", **limits.come_back(retry_after)),
            HTTPStatus.TOO_MANY_REQUESTS,
        )
    )
    page.headers["Retry-After"] = str(retry_after)
    page.headers["Cache-Control"] = "no-store"
    return page


@bp.get("/embed/<slug>/signed")
def signed(slug: str) -> Response:
    """Ask the signer, inside the frame, to check their mailbox."""
    petition = _petition(slug)
    response = current_app.make_response(render_template("widget/signed.html", petition=petition))
    response.headers["Cache-Control"] = "no-store"
    return response


def _render(
    petition: Petition,
    form: WidgetSignForm,
    *,
    mode: str = "sign",
    origin: str | None = None,
    status: int = HTTPStatus.OK,
    token_problem: str | None = None,
) -> Response:
    """The widget page with a fresh token (also after an error, to send again)."""
    form.token.data = service.issue_form_token(
        secret_key=current_settings().secret_key, petition=petition, origin=origin
    )
    context: dict[str, Any] = {
        "petition": petition,
        "form": form,
        "mode": mode,
        "token_problem": str(token_problem) if token_problem else None,
        "action": url_for("widget.sign", slug=petition.slug, lang=reader_language()),
    }
    response = current_app.make_response((render_template("widget/page.html", **context), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global("embed_snippet")
def embed_snippet(petition: Petition) -> Markup:
    """The HTML a site owner pastes to embed ``petition``."""
    base = current_settings().base_url.rstrip("/")
    page_url = f"{base}/p/{petition.slug}"
    return Markup(
        '<a href="{page}" data-petition-fallback>{title}</a>\n'
        '<script src="{base}/embed.js" data-petition="{slug}" async></script>'
    ).format(page=page_url, title=escape(petition.title), base=base, slug=petition.slug)
