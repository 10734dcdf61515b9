"""Public pages of a petition."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template

from petition.db import get_session
from petition.petitions import bp, service
from petition.petitions.models import Petition
from petition.signing.forms import SignForm


def page_context(petition: Petition, form: SignForm) -> dict[str, Any]:
    """What the petition page shows; also used when the sign form is shown again."""
    return {
        "petition": petition,
        "version": petition.current_version,
        "form": form,
        "signers": service.public_signers(get_session(), petition),
    }


@bp.get("/")
def index() -> str:
    """List the open petitions."""
    return render_template("petitions/index.html", petitions=service.list_open(get_session()))


@bp.get("/p/<slug>")
def page(slug: str) -> str:
    """Show a petition's text, its count and the sign form."""
    petition = service.get_by_slug(get_session(), slug) or abort(404)
    return render_template("petitions/page.html", **page_context(petition, SignForm()))
