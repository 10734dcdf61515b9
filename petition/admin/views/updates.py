"""Updates to signers: write, preview in every language, send (password again), follow."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from petition import i18n, urls
from petition.admin import bp, service
from petition.admin.access import Access, access
from petition.admin.views.base import current_petition, signed_in_user
from petition.config import current_settings
from petition.db import get_session
from petition.petitions import markdown
from petition.petitions import service as petitions
from petition.updates import forms
from petition.updates import service as updates
from petition.updates.models import Update, UpdateStatus


def _form(**kwargs: Any) -> forms.UpdateFormBase:
    return forms.update_form(updates.languages_of(get_session(), current_petition()), **kwargs)


def _update_or_404(update_id: int) -> Update:
    return updates.get(get_session(), petition=current_petition(), update_id=update_id) or abort(
        HTTPStatus.NOT_FOUND
    )


def _previews(texts: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Each language's email as its recipients will read it (placeholder links)."""
    petition = current_petition()
    shown = []
    for language, (subject, body) in texts.items():
        with force_locale(language):
            html = render_template(
                "emails/_update_body.html",
                body_html=markdown.render(body),
                petition_title=petitions.title_in(get_session(), petition, language),
                petition_url=urls.external_url("petitions.page", slug=petition.slug),
                unsubscribe_url="#unsubscribe",
            )
        shown.append(
            {
                "language": language,
                "dir": i18n.direction(language),
                "name": i18n.language_name(language, i18n.reader_language()),
                "subject": subject,
                "html": html,
            }
        )
    return shown


def _texts_of(update: Update) -> dict[str, tuple[str, str]]:
    return {text.language: (text.subject, text.body_markdown) for text in update.texts}


def _write_page(form: forms.UpdateFormBase, update: Update | None) -> tuple[str, int]:
    preview = None
    if request.method == "POST" and not form.errors:
        preview = _previews({k: (v.subject, v.body) for k, v in form.source().texts.items()})
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors else HTTPStatus.OK
    return render_template(
        "admin/update_form.html",
        petition=current_petition(),
        form=form,
        update=update,
        preview=preview,
        direction=i18n.direction,
        language_name=lambda code: i18n.language_name(code, i18n.reader_language()),
    ), status


def _save(form: forms.UpdateFormBase, update: Update | None) -> Response | tuple[str, int]:
    if form.validate_on_submit() and request.form.get("action") != "preview":
        try:
            saved = updates.save_draft(
                get_session(),
                petition=current_petition(),
                source=form.source(),
                actor=signed_in_user().actor,
                update=update,
            )
        except updates.UpdateError as exc:
            form.form_errors.append(exc.translated())
        else:
            flash(_("Draft saved. Check the preview, then send it."), "info")
            return redirect(
                url_for("admin.update_detail", slug=current_petition().slug, update_id=saved.id),
                HTTPStatus.SEE_OTHER,
            )
    return _write_page(form, update)


@bp.get("/p/<slug>/updates")
@access(Access.USER)
def updates_list(slug: str) -> str:
    """The petition's updates to signers: drafts, and how each sent one went."""
    session = get_session()
    petition = current_petition()
    listed = updates.list_for(session, petition=petition)
    return render_template(
        "admin/updates.html",
        petition=petition,
        updates=listed,
        figures={u.id: updates.delivery_figures(session, update=u) for u in listed},
        recipients=updates.recipient_count(session, petition=petition),
        next_at=updates.next_allowed_at(
            session, petition=petition, min_days=current_settings().updates_min_days
        ),
    )


@bp.route("/p/<slug>/updates/new", methods=["GET", "POST"])
@access(Access.USER)
def update_new(slug: str) -> Response | tuple[str, int]:
    """Write an update in each of the petition's languages; preview before saving."""
    return _save(_form(), None)


@bp.route("/p/<slug>/updates/<int:update_id>/edit", methods=["GET", "POST"])
@access(Access.USER)
def update_edit(slug: str, update_id: int) -> Response | tuple[str, int]:
    """Change a draft (a sent update never changes)."""
    update = _update_or_404(update_id)
    if update.status != UpdateStatus.DRAFT:
        abort(HTTPStatus.CONFLICT, _("This update was sent; it cannot change."))
    form = _form()
    if request.method == "GET":
        form.fill_from(str(update.kind), _texts_of(update))
    return _save(form, update)


def _update_page(update: Update, send_form: forms.SendForm | None = None) -> str:
    session = get_session()
    petition = current_petition()
    settings = current_settings()
    # One scan of the petition's signatures gives both figures (0.6 s per 100,000
    # measured here, bench/updates.py): the total is the sum of the languages.
    by_language = updates.recipients_by_language(session, petition=petition)
    return render_template(
        "admin/update.html",
        petition=petition,
        update=update,
        previews=_previews(_texts_of(update)),
        recipients=sum(by_language.values()),
        by_language=by_language,
        figures=updates.delivery_figures(session, update=update),
        next_at=updates.next_allowed_at(
            session, petition=petition, min_days=settings.updates_min_days
        ),
        send_form=send_form or forms.SendForm(formdata=None),
        is_admin=signed_in_user().is_admin,
        language_name=lambda code: i18n.language_name(code, i18n.reader_language()),
    )


@bp.get("/p/<slug>/updates/<int:update_id>")
@access(Access.USER)
def update_detail(slug: str, update_id: int) -> str:
    """One update: its email in every language, who will get it, and the send form."""
    return _update_page(_update_or_404(update_id))


@bp.post("/p/<slug>/updates/<int:update_id>/send")
@access(Access.USER)
def update_send(slug: str, update_id: int) -> Response | tuple[str, int]:
    """Send a draft to every consenting verified signer (asks for the password again)."""
    update = _update_or_404(update_id)
    form = forms.SendForm()
    user = signed_in_user()
    if not form.validate_on_submit():
        return _update_page(update, form), HTTPStatus.UNPROCESSABLE_ENTITY
    if not service.verify_password(user, form.password.data):
        form.password.errors.append(_("That is not your password."))
        return _update_page(update, form), HTTPStatus.UNPROCESSABLE_ENTITY
    # Only an admin may send before the waiting time is over.
    reason = form.override_reason.data if user.is_admin else None
    try:
        sent = updates.send(
            get_session(),
            petition=current_petition(),
            update=update,
            actor=user.actor,
            min_days=current_settings().updates_min_days,
            override_reason=reason,
        )
    except updates.TooSoon as exc:
        form.form_errors.append(
            _(
                "This petition had an update on %(last)s. The next one can go on %(next)s"
                "; an admin can send sooner with a reason.",
                last=format_date(exc.last_sent_at, "long"),
                next=format_date(exc.next_at, "long"),
            )
        )
        return _update_page(update, form), HTTPStatus.CONFLICT
    except updates.NotADraft:
        form.form_errors.append(_("This update was sent already."))
        return _update_page(update, form), HTTPStatus.CONFLICT
    flash(
        ngettext(
            "Sent. The update is on its way to %(num)d signer.",
            "Sent. The update is on its way to %(num)d signers.",
            sent.recipient_count,
        ),
        "info",
    )
    return redirect(
        url_for("admin.update_detail", slug=slug, update_id=update_id), HTTPStatus.SEE_OTHER
    )
