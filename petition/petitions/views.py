"""Public pages of a petition."""

from __future__ import annotations

from flask import abort, render_template

from petition.db import get_session
from petition.petitions import bp, service
from petition.signing.forms import SignForm


@bp.get("/")
def index() -> str:
    """List the open petitions."""
    return render_template("petitions/index.html", petitions=service.list_open(get_session()))


@bp.get("/p/<slug>")
def page(slug: str) -> str:
    """Show a petition's text, its count and the sign form."""
    petition = service.get_by_slug(get_session(), slug) or abort(404)
    context = service.page_context(get_session(), petition)
    return render_template("petitions/page.html", form=SignForm(), **context)
