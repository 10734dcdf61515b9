"""The petition service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from petition.config import RESOURCES, TRANSLATIONS, Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application from ``settings`` (by default, the environment)."""
    settings = settings or Settings.from_env()
    # Before anything logs: no token or email address may reach any log.
    from petition import privacy

    privacy.install_log_redaction()
    app = Flask(
        __name__,
        instance_path=settings.instance_path,
        template_folder=str(RESOURCES / "templates"),
        static_folder=str(RESOURCES / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        PETITION_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PREFERRED_URL_SCHEME="https" if settings.base_url.startswith("https://") else "http",
        # The sign form may sit open while someone reads a long text.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    from petition import fastreads, urls

    if settings.page_cache_seconds > 0:
        # Innermost of the middlewares: the host check and ProxyFix (the client address
        # the read limit counts) run before a kept read is answered.
        app.wsgi_app = fastreads.KeptReads(app, settings.page_cache_seconds)  # type: ignore[method-assign]
    if settings.is_production:
        # Before ProxyFix runs (it wraps this), so the host checked is the one the
        # trusted proxy passed on (X-Forwarded-Host), never one anyone can set.
        hosts = urls.trusted_hosts(settings.base_url, settings.trusted_hosts)
        app.wsgi_app = urls.TrustedHosts(app.wsgi_app, hosts)  # type: ignore[method-assign]
    from petition import requests

    # Before any route exists: every <int:…> in a path becomes a bounded id.
    requests.init_app(app)
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from petition import commands, errors, i18n, security, templating
    from petition import db as database
    from petition.abuse import limits
    from petition.extensions import babel, csrf

    # A catalog left uncompiled would serve that language in English without a word.
    i18n.check_catalogs(production=settings.is_production)

    # Order matters: the database first (others may need it), CSRF before any view,
    # the limiter, and the locale for templates and mail. Migrations are bound only
    # when `flask db` runs (see petition.commands).
    database.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    security.init_app(app)
    urls.init_app(app, settings.base_url)
    templating.init_app(app)
    errors.init_app(app)

    # Importing the views attaches their routes to the domains' blueprints.
    import petition.admin.models
    import petition.admin.views
    import petition.api.models
    import petition.api.views
    import petition.audit.models
    import petition.export.models
    import petition.export.views
    import petition.mail.views
    import petition.petitions.cache
    import petition.petitions.views
    import petition.signing.views
    import petition.updates.models
    import petition.updates.views
    import petition.widget.views
    from petition import health

    app.register_blueprint(health.bp)
    for domain in (
        petition.petitions,
        petition.signing,
        petition.api,
        petition.mail,
        petition.export,
        petition.widget,
        petition.updates,
        petition.admin,
    ):
        app.register_blueprint(domain.bp)
    csrf.exempt(petition.api.bp)

    petition.petitions.cache.init_app(app)
    commands.init_app(app)
    return app
