"""Signers' requests to an organizer: find a signature, withdraw it, correct a name."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from petition.admin import bp, forms, service
from petition.admin.access import Access, access
from petition.admin.views.base import current_petition, signed_in_user
from petition.db import get_session
from petition.signing import service as signing
from petition.signing.forms import clean_name


@bp.route("/p/<slug>/signatures", methods=["GET", "POST"])
@access(Access.USER)
def signature_search(slug: str) -> str | tuple[str, int]:
    """Find a signature by its exact email address (a signer's request)."""
    # A POST: the address stays out of the URL, so out of access logs, browser history
    # and Referer headers; an address in a query string is ignored, never looked up.
    form = forms.SearchForm()
    found = None
    searched = False
    if request.method == "POST" and form.validate_on_submit():
        searched = True
        found = service.search_signature(
            get_session(), user=signed_in_user(), petition=current_petition(), email=form.email.data
        )
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors else HTTPStatus.OK
    return render_template(
        "admin/signatures.html",
        petition=current_petition(),
        form=form,
        found=found,
        searched=searched,
        withdraw_form=forms.ButtonForm(),
        name_form=forms.NameForm(formdata=None),
    ), status


def _signature(signature_id: int) -> Any:
    found = signing.get_signature(
        get_session(), petition=current_petition(), signature_id=signature_id
    )
    return found or abort(HTTPStatus.NOT_FOUND)


@bp.post("/p/<slug>/signatures/<int:signature_id>/withdraw")
@access(Access.USER)
def signature_withdraw(slug: str, signature_id: int) -> Response:
    """Withdraw a signature because its signer asked (their details are erased)."""
    form = forms.ButtonForm()
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    service.withdraw_signature(
        get_session(), user=signed_in_user(), signature=_signature(signature_id)
    )
    flash(_("The signature is withdrawn and the signer's details erased."), "info")
    return redirect(url_for("admin.signature_search", slug=slug), HTTPStatus.SEE_OTHER)


@bp.post("/p/<slug>/signatures/<int:signature_id>/name")
@access(Access.USER)
def signature_name(slug: str, signature_id: int) -> Response | tuple[str, int]:
    """Correct the name on a signature at its signer's request."""
    signature = _signature(signature_id)
    form = forms.NameForm()
    if form.validate_on_submit():
        try:
            name = clean_name(form.name.data)
            service.correct_name(
                get_session(), user=signed_in_user(), signature=signature, name=name
            )
        except ValidationError as exc:
            form.name.errors.append(str(exc))  # a lazy string: in the reader's language
        except service.WithdrawnSignature as exc:
            form.name.errors.append(exc.translated())
        else:
            flash(_("Name corrected."), "info")
            return redirect(url_for("admin.signature_search", slug=slug), HTTPStatus.SEE_OTHER)
    return render_template(
        "admin/signatures.html",
        petition=current_petition(),
        form=forms.SearchForm(formdata=None),
        found=signature,
        searched=True,
        withdraw_form=forms.ButtonForm(),
        name_form=form,
    ), HTTPStatus.UNPROCESSABLE_ENTITY
