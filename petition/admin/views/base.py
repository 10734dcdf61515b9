"""What every page of /admin shares: the guard, the headers, and the signed-in account.

Guards run before every view (``_guard``): the page's declared access, the
session, and for URLs naming a petition, that this account may run it (404
otherwise, so nobody learns which petitions exist).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from petition.admin import auth, bp, service
from petition.admin.access import Access, access_of
from petition.admin.models import User
from petition.config import current_settings
from petition.db import get_session
from petition.petitions.models import Petition, PetitionStatus

# frame-ancestors 'none' and no-store on every admin page: no clickjacking, and no
# copy of a dashboard (signers' names and addresses) left in a shared browser's cache.
ADMIN_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Endpoints an admin who must set up a second factor may still reach.
_ENROLMENT_ENDPOINTS = frozenset({"admin.account_totp", "admin.logout"})


def signed_in_user() -> User:
    """The account signed in (the guard has checked it)."""
    user: User = g.admin_user
    return user


def current_petition() -> Petition:
    """The petition the URL names (the guard has checked this account may run it)."""
    petition: Petition = g.admin_petition
    return petition


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside /admin on this site.

    Anything else (another host, ``//host``, a scheme, a backslash that some
    browsers read as a slash) falls back to the dashboard: no open redirect.
    """
    fallback = url_for("admin.dashboard")
    if not target or not target.startswith("/admin/") or "\\" in target:
        return fallback
    if any(ord(ch) < 0x20 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.before_request
def _guard() -> Response | None:
    view = current_app.view_functions.get(request.endpoint or "")
    level = access_of(view)
    if level is None:
        abort(HTTPStatus.FORBIDDEN)
    if level == Access.PUBLIC:
        return None
    user = auth.current_user()
    if user is None:
        if g.get("admin_session_expired"):
            flash(_("Your session ended. Please log in again."), "info")
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("admin.login", next=target), HTTPStatus.SEE_OTHER)
    if (
        current_settings().admin_require_totp
        and user.is_admin
        and not user.has_totp
        and request.endpoint not in _ENROLMENT_ENDPOINTS
    ):
        flash(_("Admins must set up a second factor before going on."), "info")
        return redirect(url_for("admin.account_totp"), HTTPStatus.SEE_OTHER)
    if level == Access.ADMIN and not user.is_admin:
        abort(HTTPStatus.FORBIDDEN)
    slug = (request.view_args or {}).get("slug")
    if slug is not None:
        g.admin_petition = service.petition_for(get_session(), user=user, slug=slug) or abort(
            HTTPStatus.NOT_FOUND
        )
    return None


@bp.after_request
def _admin_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = ADMIN_CSP
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.context_processor
def _admin_globals() -> dict[str, Any]:
    return {"current_user": g.get("admin_user"), "PetitionStatus": PetitionStatus}
