"""The petition page with its form; sign, confirm and withdraw: thin views over the service."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session
from werkzeug.http import parse_cookie
from werkzeug.wrappers import Response

from petition import replay, signers
from petition.abuse import limits
from petition.config import current_settings
from petition.db import get_session
from petition.i18n import reader_language
from petition.petitions import bp as petitions_bp
from petition.petitions import service as petitions
from petition.petitions.cache import CSRF_SLOT, micro_cache, petition_by_slug
from petition.petitions.models import Petition
from petition.signing import bp, counts, links, service, yours
from petition.signing.forms import SignForm, signer_from
from petition.signing.models import SignatureSource

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


def page_context(
    session: Session, petition: Petition, *, reader: str, show_original: bool = False
) -> dict[str, Any]:
    """What the petition page shows besides the form: the text, and the public signers."""
    return {
        **petitions.page_context(session, petition, reader=reader, show_original=show_original),
        "signers": counts.public_signers(session, petition),
    }


# Stands in a kept page's Set-Cookie where a new reader's own session cookie goes.
SESSION_SLOT = "\x00session-cookie\x00"


def _csrf_token() -> str:
    """This reader's CSRF token, as Flask-WTF's ``generate_csrf()`` gives it.

    A reader with no session yet (most readers of a spreading petition) gets one from
    signers built once, and the page is offered to :mod:`petition.fastreads`, which
    then answers the next new readers with a token and cookie of their own, before
    Flask. Flask-WTF still checks every POST against the session cookie.
    """
    if session or hasattr(g, "csrf_token"):
        return str(generate_csrf())
    reader = signers.new_reader(current_app._get_current_object())  # type: ignore[attr-defined]
    _, token, cookie = reader.issue()
    setattr(g, reader.field_name, token)  # where generate_csrf() looks first
    # The session saves this very cookie (security.SessionlessReads), not one signed
    # again a second later: fastreads keeps the answer only if it finds this value.
    g.petition_minted_session = cookie

    def next_reader(environ: WSGIEnvironment) -> dict[str, str] | None:
        # Read as Flask reads it (request.cookies), so both see the same session.
        held = parse_cookie(environ.get("HTTP_COOKIE", "")).get(reader.cookie_name)
        if not held:
            _, token, cookie = reader.issue()
            return {CSRF_SLOT: token, SESSION_SLOT: cookie}
        # A returning reader keeps their cookie (no Set-Cookie), as from Flask; any
        # session holding more than a CSRF token goes to Flask (None).
        own = reader.token_for_session(held)
        return None if own is None else {CSRF_SLOT: own}

    replay.offer(replay.Refill(slots={token: CSRF_SLOT, cookie: SESSION_SLOT}, make=next_reader))
    return token


# The petition page belongs to the petitions blueprint (its address and endpoint,
# petitions.page) but shows the sign form, so its view lives here, above petitions.


@petitions_bp.get("/p/<slug>")
def page(slug: str) -> str:
    """Show a petition's text, its count and the sign form (endpoint ``petitions.page``)."""
    cache = micro_cache()
    show_original = request.args.get("original") == "1"
    # What the page depends on, not the raw query: a link's own ?utm_source=… (or a
    # crawler's random query) would otherwise keep a 40 KB copy per variant.
    key = ("page", slug, reader_language(), show_original)
    if cache is not None and (cached := cache.get(key)) is not None:
        return str(cached).replace(CSRF_SLOT, _csrf_token())
    petition = petition_by_slug(get_session(), slug) or abort(404)
    _csrf_token()  # the form's token, new reader or not
    form = SignForm()
    context = page_context(
        get_session(), petition, reader=reader_language(), show_original=show_original
    )
    html = render_template("petitions/page.html", form=form, **context)
    if cache is not None:
        # Everything but the reader's own CSRF token is the same for every reader.
        cache.put(key, html.replace(form.csrf_token.current_token, CSRF_SLOT))
    return html


@bp.after_request
def _no_store(response: Response) -> Response:
    """Nothing the sign, confirm and withdraw views answer may be kept by a cache.

    Confirm and withdraw pages carry a one-time token in their address and form; a
    refused sign form is re-shown with what the signer typed (name, address). A
    shared proxy or the browser's history must not hand either to the next reader.
    """
    response.headers["Cache-Control"] = "no-store"
    return response


def _petition(slug: str) -> Petition:
    return petition_by_slug(get_session(), slug) or abort(HTTPStatus.NOT_FOUND)


@bp.post("/p/<slug>/sign")
def sign(slug: str) -> Response | tuple[str, int]:
    """Take a signature from the petition page's form."""
    petition = _petition(slug)
    if not petition.is_open:
        return _closed(petition)
    form = SignForm()
    if not form.validate():
        # Within the rate limits too; a valid form is admitted with its counters.
        limits.check_signing_limits()
        return (
            render_template(
                "petitions/page.html",
                form=form,
                **page_context(get_session(), petition, reader=reader_language()),
            ),
            HTTPStatus.UNPROCESSABLE_ENTITY,
        )
    try:
        service.take(
            get_session(),
            petition=petition,
            signer=signer_from(form),
            client=service.Client(
                ip=request.remote_addr,
                source=SignatureSource.PAGE,
                locale=reader_language(),
            ),
            settings=current_settings(),
            form=service.FormTraps(honeypot=form.website.data, shown_token=form.shown.data),
            admit=limits.signing_checks(),
        )
    except service.PetitionClosed:
        return _closed(petition)
    # The same answer whether the signature was taken, flagged or dropped.
    return redirect(url_for("signing.signed", slug=slug), HTTPStatus.SEE_OTHER)


def _closed(petition: Petition) -> tuple[str, int]:
    return render_template("signing/closed.html", petition=petition), HTTPStatus.CONFLICT


@bp.get("/p/<slug>/signed")
def signed(slug: str) -> str:
    """Ask the signer to check their mailbox (the same page for every address)."""
    return render_template("signing/signed.html", petition=_petition(slug))


@bp.get("/p/<slug>/confirm/<token>")
def confirm_page(slug: str, token: str) -> tuple[str, int]:
    """Show the confirm button; a GET (say, by a mail scanner) changes nothing."""
    petition = _petition(slug)
    state = links.check_confirm_token(get_session(), petition=petition, token=token)
    return _token_page("signing/confirm.html", petition, state, token)


@bp.post("/p/<slug>/confirm/<token>")
def confirm(slug: str, token: str) -> tuple[str, int]:
    """Confirm a signature."""
    petition = _petition(slug)
    state = links.confirm(get_session(), petition=petition, token=token)
    if state == links.TokenState.VALID:
        return render_template("signing/confirmed.html", petition=petition), HTTPStatus.OK
    return _token_page("signing/confirm.html", petition, state, token)


@bp.get("/p/<slug>/withdraw/<token>")
def withdraw_page(slug: str, token: str) -> tuple[str, int]:
    """Show the signer's own page: where their signature stands, and the withdraw button."""
    return _own_page(_petition(slug), token)


@bp.post("/p/<slug>/withdraw/<token>")
def withdraw(slug: str, token: str) -> tuple[str, int]:
    """Withdraw a signature and erase the signer's details, once the signer ticked that
    they mean it (it cannot be undone, and the button shares a page with the receipt)."""
    petition = _petition(slug)
    if request.form.get("confirm_withdraw") != "yes":
        return _own_page(petition, token, is_unconfirmed=True)
    state = links.withdraw(get_session(), petition=petition, token=token)
    if state == links.TokenState.VALID:
        return render_template("signing/withdrawn.html", petition=petition), HTTPStatus.OK
    return _own_page(petition, token)


def _own_page(petition: Petition, token: str, *, is_unconfirmed: bool = False) -> tuple[str, int]:
    """The signer's own page, "Your signature", which every mailed withdraw link opens:
    404 for a link we never mailed, 410 once withdrawn (it still says so, with the receipt)."""
    own = yours.own_signature(get_session(), petition=petition, token=token)
    if own is None:
        return _token_page("signing/withdraw.html", petition, links.TokenState.INVALID, token)
    status = HTTPStatus.OK
    if own.standing == yours.Standing.WITHDRAWN:
        status, is_unconfirmed = HTTPStatus.GONE, False
    elif is_unconfirmed:
        status = HTTPStatus.UNPROCESSABLE_ENTITY  # nothing changed: the box was not ticked
    html = render_template(
        "signing/withdraw.html",
        petition=petition,
        own=own,
        state="own",
        token=token,
        is_unconfirmed=is_unconfirmed,
    )
    return html, status


# A link used up (the signature confirmed or withdrawn, through it or another) is
# gone; one we never mailed is not found.
_LINK_STATUS = {
    links.TokenState.VALID: HTTPStatus.OK,
    links.TokenState.EXPIRED: HTTPStatus.GONE,
    links.TokenState.CONFIRMED: HTTPStatus.GONE,
    links.TokenState.WITHDRAWN: HTTPStatus.GONE,
    links.TokenState.INVALID: HTTPStatus.NOT_FOUND,
}


def _token_page(
    template: str, petition: Petition, state: links.TokenState, token: str
) -> tuple[str, int]:
    status = _LINK_STATUS[state]
    return render_template(template, petition=petition, state=str(state), token=token), status
