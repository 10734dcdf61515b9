"""Moderation of flagged signatures: the grouped report, release and invalidate."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from werkzeug.wrappers import Response

from petition.abuse.models import FlagReason
from petition.admin import bp, forms
from petition.admin.access import Access, access
from petition.admin.views.base import current_petition, signed_in_user
from petition.db import get_session, utcnow
from petition.moderation import service as moderation
from petition.petitions.models import Petition


def _selection(
    petition: Petition, *, reason: str, domain: str, ip_hash: str, since: dt.datetime | None
) -> moderation.Selection:
    """Raises :class:`petition.moderation.service.BadSelection`."""
    return moderation.Selection(
        petition_id=petition.id,
        reason=FlagReason(reason) if reason else None,
        domain=domain.strip() or None,
        ip_hash=ip_hash.strip() or None,
        since=since,
    )


def _flags_page(
    form: forms.FlagFilterForm, selection: moderation.Selection | None, moderate: forms.ModerateForm
) -> str:
    session = get_session()
    report = moderation.flag_report(session, selection=selection) if selection else None
    count = moderation.preview_count(session, selection=selection) if selection else 0
    return render_template(
        "admin/flags.html",
        petition=current_petition(),
        form=form,
        selection=selection,
        report=report,
        count=count,
        moderate=moderate,
    )


@bp.get("/p/<slug>/flags")
@access(Access.USER)
def flags(slug: str) -> str | tuple[str, int]:
    """Flagged signatures grouped by reason, address hash and email domain."""
    form = forms.FlagFilterForm(request.args)
    petition = current_petition()
    if not form.validate():
        return _flags_page(
            form, None, forms.ModerateForm(formdata=None)
        ), HTTPStatus.UNPROCESSABLE_ENTITY
    since = None
    if form.hours.data:
        since = utcnow() - dt.timedelta(hours=int(form.hours.data))
    try:
        selection = _selection(
            petition,
            reason=form.reason.data or "",
            domain=form.domain.data or "",
            ip_hash=form.ip_hash.data or "",
            since=since,
        )
    except moderation.BadSelection as exc:
        form.ip_hash.errors.append(exc.translated())
        return _flags_page(
            form, None, forms.ModerateForm(formdata=None)
        ), HTTPStatus.UNPROCESSABLE_ENTITY
    return _flags_page(form, selection, forms.ModerateForm(formdata=None))


@bp.post("/p/<slug>/flags")
@access(Access.USER)
def flags_act(slug: str) -> Response | tuple[str, int]:
    """Release or invalidate the previewed selection of flagged signatures."""
    moderate = forms.ModerateForm()
    petition = current_petition()
    if not moderate.validate_on_submit() and not moderate.why.errors:
        abort(HTTPStatus.BAD_REQUEST)
    try:
        since = dt.datetime.fromisoformat(moderate.since.data) if moderate.since.data else None
        selection = _selection(
            petition,
            reason=moderate.reason_filter.data or "",
            domain=moderate.domain.data or "",
            ip_hash=moderate.ip_hash.data or "",
            since=since,
        )
    except (ValueError, moderation.BadSelection):
        abort(HTTPStatus.BAD_REQUEST)
    form = forms.FlagFilterForm(
        formdata=None,
        reason=moderate.reason_filter.data,
        domain=moderate.domain.data,
        ip_hash=moderate.ip_hash.data,
    )
    if moderate.why.errors:
        return _flags_page(form, selection, moderate), HTTPStatus.UNPROCESSABLE_ENTITY
    session = get_session()
    now_count = moderation.preview_count(session, selection=selection)
    if now_count != int(moderate.expected.data):
        # Signatures came or went since the preview: show the new figure, change nothing.
        moderate.form_errors.append(
            ngettext(
                "The selection changed since you looked: it now holds %(num)d signature. "
                "Check again, then confirm.",
                "The selection changed since you looked: it now holds %(num)d signatures. "
                "Check again, then confirm.",
                now_count,
            )
        )
        return _flags_page(form, selection, moderate), HTTPStatus.CONFLICT
    act = moderation.release if moderate.action.data == "release" else moderation.invalidate
    done = act(session, selection=selection, actor=signed_in_user().actor, reason=moderate.why.data)
    if moderate.action.data == "release":
        flash(
            ngettext(
                "%(num)d signature released: it counts now.",
                "%(num)d signatures released: they count now.",
                done,
            ),
            "info",
        )
    else:
        flash(
            ngettext(
                "%(num)d signature invalidated: it will not count.",
                "%(num)d signatures invalidated: they will not count.",
                done,
            ),
            "info",
        )
    return redirect(url_for("admin.flags", slug=slug), HTTPStatus.SEE_OTHER)
