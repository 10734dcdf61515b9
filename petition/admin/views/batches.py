"""Signed batches and exports: make, download, record delivery, the full export."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from petition.admin import bp, forms, service
from petition.admin.access import Access, access
from petition.admin.views.base import current_petition, signed_in_user
from petition.config import current_settings
from petition.db import deferred_writes, get_session
from petition.export import batch_key, data_export, delivery
from petition.export import batches as export_batches
from petition.petitions.models import Petition

logger = logging.getLogger(__name__)


def _batch_dir(petition: Petition) -> Path:
    return Path(current_settings().batch_dir) / petition.slug


def _batches_page(**forms_: Any) -> str:
    session = get_session()
    petition = current_petition()
    context: dict[str, Any] = {
        "make_form": forms.PasswordConfirmForm(formdata=None),
        "export_form": forms.FullExportForm(formdata=None),
        "delivered_form": forms.DeliveredForm(formdata=None),
        "download_form": forms.ButtonForm(formdata=None),
    }
    context.update(forms_)
    return render_template(
        "admin/batches.html",
        petition=petition,
        batches=list(reversed(export_batches.list_batches(session, petition=petition))),
        unexported=export_batches.unexported_count(session, petition=petition),
        nothing_new=export_batches.nothing_to_export(session, petition=petition),
        **context,
    )


@bp.get("/p/<slug>/batches")
@access(Access.USER)
def batches(slug: str) -> str:
    """The petition's signed batches, where each went, and the full data export."""
    return _batches_page()


def _password_ok(form: forms.PasswordConfirmForm) -> bool:
    """Recent authentication: batches and full exports ask for the password again, so
    an unlocked, unattended browser cannot carry every signer's data away."""
    if not form.validate_on_submit():
        return False
    if service.verify_password(signed_in_user(), form.password.data):
        return True
    form.password.errors.append(_("That is not your password."))
    return False


@bp.post("/p/<slug>/batches")
@access(Access.USER)
def batch_make(slug: str) -> Response | tuple[str, int]:
    """Make the next signed batch (asks for the password again)."""
    form = forms.PasswordConfirmForm()
    if not _password_ok(form):
        return _batches_page(make_form=form), HTTPStatus.UNPROCESSABLE_ENTITY
    petition = current_petition()
    try:
        result = export_batches.make_batch(
            get_session(),
            petition=petition,
            out_dir=_batch_dir(petition),
            key=batch_key.app_key(),
            actor=signed_in_user().actor,
        )
    except export_batches.ExportError as exc:
        form.form_errors.append(exc.translated())
        return _batches_page(make_form=form), HTTPStatus.CONFLICT
    except batch_key.SigningKeyError:
        # No key configured on this server: say so rather than fail with a 500. The
        # file and its problem are for the operator's log, not the organizer's page.
        logger.exception("no batch signing key to sign a batch with")
        form.form_errors.append(
            _(
                "This server has no key to sign batches with: ask whoever runs it to set "
                "PETITION_SIGNING_KEY_FILE."
            )
        )
        return _batches_page(make_form=form), HTTPStatus.SERVICE_UNAVAILABLE
    flash(
        ngettext(
            "Batch %(number)d made: %(num)d signature.",
            "Batch %(number)d made: %(num)d signatures.",
            result.batch.signature_count,
            number=result.batch.sequence,
        ),
        "info",
    )
    return redirect(url_for("admin.batches", slug=slug), HTTPStatus.SEE_OTHER)


def _batch(sequence: int) -> Any:
    try:
        return export_batches.get_batch(
            get_session(), petition=current_petition(), sequence=sequence
        )
    except export_batches.BatchNotFound:
        abort(HTTPStatus.NOT_FOUND)


@bp.post("/p/<slug>/batches/<int:sequence>/download")
@access(Access.USER)
def batch_download(slug: str, sequence: int) -> Response:
    """Download a batch's ZIP (a POST: the download is recorded in the audit log)."""
    form = forms.ButtonForm()
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    batch = _batch(sequence)
    path = _batch_dir(current_petition()) / batch.filename
    if not path.is_file():
        abort(HTTPStatus.GONE, _("The batch file is no longer on the server."))
    service.record_download(get_session(), user=signed_in_user(), batch=batch)
    return send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=batch.filename
    )


@bp.post("/p/<slug>/batches/<int:sequence>/delivered")
@access(Access.USER)
def batch_delivered(slug: str, sequence: int) -> Response | tuple[str, int]:
    """Record to whom a batch was delivered."""
    form = forms.DeliveredForm()
    _batch(sequence)
    if form.validate_on_submit():
        try:
            delivery.mark_delivered(
                get_session(),
                petition=current_petition(),
                sequence=sequence,
                to=form.to.data,
                actor=signed_in_user().actor,
            )
        except export_batches.ExportError as exc:
            form.to.errors.append(exc.translated())
        else:
            flash(_("Batch %(number)d marked delivered.", number=sequence), "info")
            return redirect(url_for("admin.batches", slug=slug), HTTPStatus.SEE_OTHER)
    return _batches_page(delivered_form=form), HTTPStatus.UNPROCESSABLE_ENTITY


@bp.post("/p/<slug>/export")
@access(Access.USER)
def full_export(slug: str) -> Response | tuple[str, int]:
    """Download every signature with email and consent (asks for the password again)."""
    form = forms.FullExportForm()
    if not _password_ok(form):
        return _batches_page(export_form=form), HTTPStatus.UNPROCESSABLE_ENTITY
    petition = current_petition()
    fmt: data_export.DataFormat = "json" if form.fmt.data == "json" else "csv"
    session = get_session()
    chunks = data_export.full_data_export(
        session, petition=petition, fmt=fmt, actor=signed_in_user().actor
    )

    def body() -> Iterator[str]:
        # The request committed (with its audit event) before the first byte is
        # sent; the rows are read in a transaction of their own that locks nobody out.
        with deferred_writes():
            try:
                yield from chunks
            finally:
                session.rollback()

    response = current_app.response_class(
        stream_with_context(body()),
        mimetype="application/json" if fmt == "json" else "text/csv",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{petition.slug}-signatures.{fmt}"'
    )
    return response
