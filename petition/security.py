"""Security headers sent with every response."""

from __future__ import annotations

import re

from flask import Flask, Response, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request

from petition import signers


def content_security_policy(*, frame_ancestors: str = "'none'") -> str:
    """No inline scripts or styles, nothing from another host, framed by nobody.

    Only the widget's pages pass other ``frame_ancestors`` (the petition's allowlist);
    a view sets the header itself and the default below then leaves it alone.
    """
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)


# same-origin Referrer-Policy: confirmation tokens in our URLs never reach another
# site in a Referer, while our own form posts keep the Referer and Origin that the
# CSRF check over HTTPS relies on (no-referrer would send Origin: null).
HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


# Reads that never use the session: the widget (a frame on another site gets no
# cookie anyway), the API, static files, the polled count and the open figures. A
# reader who has a session cookie from the petition page sends it with every poll.
SESSIONLESS_READS = re.compile(
    r"/(?:embed|api/|static/"
    r"|p/[^/]+/(?:count|countries|card\.png|figures\.json|figures-(?:daily|hourly)\.csv)$)"
)


class SessionlessReads(SecureCookieSessionInterface):
    """Flask's signed-cookie session, not opened for :data:`SESSIONLESS_READS`:
    verifying the cookie's signature was a fifth of a kept count's time."""

    def _is_sessionless(self, request: Request) -> bool:
        return request.method in ("GET", "HEAD") and bool(SESSIONLESS_READS.match(request.path))

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self._is_sessionless(request):
            return SecureCookieSession()  # empty, and never saved below
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:  # type: ignore[override]
        if self._is_sessionless(request):
            return
        super().save_session(app, session, response)
        # A new reader's session, minted with its CSRF token by signers.NewReader (the
        # petition page): it holds only that token, so its cookie is set as made.
        minted = g.get("petition_minted_session")
        if minted and not session:
            signers.new_reader(app).set_cookie(app, response, minted)


def init_app(app: Flask) -> None:
    app.session_interface = SessionlessReads()

    @app.after_request
    def _headers(response: Response) -> Response:
        # Each header unless the view set its own (the widget sets its CSP). One pass
        # over the headers: a setdefault each was a visible share of a cached page.
        present = {name.lower() for name, _ in response.headers}
        wanted = (*HEADERS, HSTS) if request.is_secure else HEADERS
        response.headers.extend(
            [(name, value) for name, value in wanted if name.lower() not in present]
        )
        return response
