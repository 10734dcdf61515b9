"""Public pages of a petition."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from petition.db import get_session
from petition.petitions import bp, service
from petition.petitions.cache import CSRF_SLOT, PageCache
from petition.signing.forms import SignForm


@bp.get("/")
def index() -> str:
    """List the open petitions."""
    return render_template("petitions/index.html", petitions=service.list_open(get_session()))


@bp.get("/p/<slug>")
def page(slug: str) -> str:
    """Show a petition's text, its count and the sign form."""
    cache: PageCache | None = current_app.extensions.get("petition_page_cache")
    key = (slug, str(get_locale()), request.query_string)
    if cache is not None and (cached := cache.get(key)) is not None:
        return cached.replace(CSRF_SLOT, generate_csrf())
    petition = service.get_by_slug(get_session(), slug) or abort(404)
    form = SignForm()
    html = render_template(
        "petitions/page.html", form=form, **service.page_context(get_session(), petition)
    )
    if cache is not None:
        # Everything but the reader's own CSRF token is the same for every reader.
        cache.put(key, html.replace(form.csrf_token.current_token, CSRF_SLOT))
    return html
