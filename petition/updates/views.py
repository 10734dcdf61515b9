"""What signers see of updates: the responses on the petition page, and the link
that stops them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import abort, make_response, render_template
from werkzeug.wrappers import Response

from petition import i18n
from petition.db import get_session
from petition.extensions import csrf
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.updates import bp, service, unsubscribe


@bp.app_template_global()
def petition_responses(petition: Petition) -> list[dict[str, Any]]:
    """For the petition page: the addressee's responses, dated, newest first.

    A template global so that the page (rendered by the signing domain, below this
    one) shows them without importing updates.
    """
    return service.public_responses(
        get_session(), petition_id=petition.id, reader=i18n.reader_language()
    )


def _petition_or_404(slug: str) -> Petition:
    return petitions.get_by_slug(get_session(), slug) or abort(HTTPStatus.NOT_FOUND)


def _link_page(petition: Petition, state: unsubscribe.LinkState, token: str) -> Response:
    status = HTTPStatus.NOT_FOUND if state == unsubscribe.LinkState.INVALID else HTTPStatus.OK
    response = make_response(
        render_template(
            "updates/unsubscribe.html", petition=petition, state=str(state), token=token
        ),
        status,
    )
    # The address carries the link's token: no cache, shared or not, keeps the page.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/p/<slug>/unsubscribe/<token>")
def unsubscribe_page(slug: str, token: str) -> Response:
    """Show the button that stops updates; a GET (a mail scanner, a preview) changes nothing."""
    petition = _petition_or_404(slug)
    state = unsubscribe.check(get_session(), petition=petition, token=token)
    return _link_page(petition, state, token)


@bp.post("/p/<slug>/unsubscribe/<token>")
def unsubscribe_now(slug: str, token: str) -> Response:
    """Stop updates at once: the page's button, or a mail client's RFC 8058 one-click POST.

    Exempt from the CSRF check: a mail client posts ``List-Unsubscribe=One-Click``
    with no session; the token in the address is the proof, and the worst a forged
    POST can do with a stolen link is what the link's owner could do.
    """
    petition = _petition_or_404(slug)
    state = unsubscribe.unsubscribe(get_session(), petition=petition, token=token)
    return _link_page(petition, state, token)


# A mail client's one-click POST carries no session and no CSRF token (see above).
csrf.exempt(unsubscribe_now)
