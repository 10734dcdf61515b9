"""Absolute addresses of this service, and the hosts it answers for.

A request's ``Host`` (or ``X-Forwarded-Host``) is whatever its sender wrote. An
address built from it and shown to someone else (a page kept in the micro-cache or
a proxy, a mail, an API answer, a widget snippet, a share card) would send readers
to the sender's site. Every absolute address is therefore built from
``PETITION_BASE_URL`` (:func:`external_url`), and in production a request for any
other host is refused with 400 before it reaches a view (:class:`TrustedHosts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.exceptions import BadRequest, SecurityError
from werkzeug.routing import MapAdapter
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wsgi import get_host

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_ADAPTER = "petition_base_url_adapter"


def base_url_adapter(app: Flask, base_url: str) -> MapAdapter:
    """The app's URL map bound to ``base_url`` (scheme, host and path prefix)."""
    parts = urlsplit(base_url)
    return app.url_map.bind(
        parts.netloc, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme
    )


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute address of ``endpoint`` under PETITION_BASE_URL, whatever the request."""
    app = current_app
    adapter: MapAdapter = app.extensions[_ADAPTER]
    # As url_for does: static files get their ?v=<content hash> (petition.templating).
    app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


def trusted_hosts(base_url: str, extra: str) -> list[str]:
    """The base URL's host name and the comma-separated ``extra`` ones (ports ignored)."""
    names = [urlsplit(base_url).hostname or ""]
    names += [name.strip().lower() for name in extra.split(",")]
    return [name for name in dict.fromkeys(names) if name]


class TrustedHosts:
    """WSGI middleware: 400 for a request whose host is not one of ``hosts``.

    It runs before Flask, rather than through Flask's ``TRUSTED_HOSTS``: that check
    fails while Flask builds the request's URL adapter, and the error page it then
    renders cannot build its own links (a 500 instead of the 400).
    """

    def __init__(self, app: WSGIApplication, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = list(hosts)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            # Host names are case-insensitive; Werkzeug compares them as written.
            trusted = host_is_trusted(get_host(environ).lower(), self.hosts)
        except SecurityError:  # not even a well-formed host
            trusted = False
        if not trusted:
            refused = BadRequest("This service does not answer for that host.")
            return refused(environ, start_response)
        return self.app(environ, start_response)


def init_app(app: Flask, base_url: str) -> None:
    app.extensions[_ADAPTER] = base_url_adapter(app, base_url)
    app.add_template_global(external_url)
