"""The audit log (and undoing moderation from it), and the accounts."""

from __future__ import annotations

from http import HTTPStatus

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from petition.admin import bp, forms, service
from petition.admin.access import Access, access
from petition.admin.models import User, UserRole
from petition.admin.views.base import current_petition, signed_in_user
from petition.audit import service as audit
from petition.db import get_session
from petition.moderation import service as moderation
from petition.petitions.models import Petition


def _petition_audit_page(reinstate: forms.ReinstateForm, *, failed_event: int | None = None) -> str:
    petition = current_petition()
    session = get_session()
    events = audit.events(session, petition_id=petition.id, limit=500)
    names = service.actor_names(session, {e.actor for e in events})
    undoable = [
        e.id
        for e in events
        if e.action in moderation.UNDOABLE and "signature_ids" in (e.details or {})
    ]
    return render_template(
        "admin/audit.html",
        petition=petition,
        events=events,
        names=names,
        undoable=set(undoable),
        undone=moderation.undone_by(session, event_ids=undoable),
        reinstate=reinstate,
        blank=forms.ReinstateForm(formdata=None),
        failed_event=failed_event,
    )


@bp.get("/p/<slug>/audit")
@access(Access.USER)
def petition_audit(slug: str) -> str:
    """What was done to this petition, by whom, when and why."""
    return _petition_audit_page(forms.ReinstateForm(formdata=None))


@bp.post("/p/<slug>/audit/<int:event_id>/reinstate")
@access(Access.USER)
def flags_reinstate(slug: str, event_id: int) -> Response | tuple[str, int]:
    """Undo a release or invalidation of this petition's flagged signatures."""
    form = forms.ReinstateForm()
    if not form.validate_on_submit():
        if not form.why.errors:
            abort(HTTPStatus.BAD_REQUEST)
        return _petition_audit_page(form, failed_event=event_id), HTTPStatus.UNPROCESSABLE_ENTITY
    try:
        done = moderation.reinstate(
            get_session(),
            event_id=event_id,
            actor=signed_in_user().actor,
            reason=form.why.data,
            petition_id=current_petition().id,
        )
    except moderation.AlreadyReinstated:
        form.form_errors.append(_("This action cannot be undone: it is undone already."))
        return _petition_audit_page(form, failed_event=event_id), HTTPStatus.CONFLICT
    except moderation.CannotReinstate:
        abort(HTTPStatus.NOT_FOUND)  # no release or invalidation of this petition
    flash(
        ngettext(
            "Undone: %(num)d signature is back as it was.",
            "Undone: %(num)d signatures are back as they were.",
            done,
        ),
        "info",
    )
    return redirect(url_for("admin.petition_audit", slug=slug), HTTPStatus.SEE_OTHER)


@bp.get("/audit")
@access(Access.ADMIN)
def site_audit() -> str:
    """Everything done on the site, newest first."""
    session = get_session()
    events = audit.events(session, limit=500)
    names = service.actor_names(session, {e.actor for e in events})
    return render_template("admin/audit.html", petition=None, events=events, names=names)


@bp.get("/users")
@access(Access.ADMIN)
def users() -> str:
    """The accounts, and which petitions each organizer runs."""
    return render_template(
        "admin/users.html",
        users=service.list_users(get_session()),
        form=forms.UserForm(formdata=None),
        grant_form=forms.GrantForm(formdata=None),
    )


@bp.post("/users")
@access(Access.ADMIN)
def user_create() -> Response | tuple[str, int]:
    """Create an account."""
    form = forms.UserForm()
    if form.validate_on_submit():
        try:
            service.create_user(
                get_session(),
                email=form.email.data,
                password=form.password.data,
                role=UserRole(form.role.data),
                actor=signed_in_user().actor,
            )
        except service.AccountError as exc:
            form.email.errors.append(exc.translated())
        else:
            flash(_("Account created."), "info")
            return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)
    return render_template(
        "admin/users.html",
        users=service.list_users(get_session()),
        form=form,
        grant_form=forms.GrantForm(formdata=None),
    ), HTTPStatus.UNPROCESSABLE_ENTITY


def _user_and_petition(user_id: int) -> tuple[User, Petition]:
    session = get_session()
    form = forms.GrantForm()
    target = service.get_user(session, user_id) or abort(HTTPStatus.NOT_FOUND)
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    found = service.petition_for(session, user=signed_in_user(), slug=form.slug.data.strip())
    return target, found or abort(HTTPStatus.NOT_FOUND, _("There is no petition at that address."))


@bp.post("/users/<int:user_id>/grant")
@access(Access.ADMIN)
def user_grant(user_id: int) -> Response:
    """Let an organizer run a petition."""
    target, petition = _user_and_petition(user_id)
    service.grant_petition(
        get_session(), user=target, petition=petition, actor=signed_in_user().actor
    )
    flash(_("%(email)s now runs %(slug)s.", email=target.email, slug=petition.slug), "info")
    return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)


@bp.post("/users/<int:user_id>/revoke")
@access(Access.ADMIN)
def user_revoke(user_id: int) -> Response:
    """Stop an organizer running a petition."""
    target, petition = _user_and_petition(user_id)
    service.revoke_petition(
        get_session(), user=target, petition=petition, actor=signed_in_user().actor
    )
    flash(_("%(email)s no longer runs %(slug)s.", email=target.email, slug=petition.slug), "info")
    return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)


@bp.post("/users/<int:user_id>/active")
@access(Access.ADMIN)
def user_active(user_id: int) -> Response | tuple[str, int]:
    """Disable an account, or enable it again."""
    form = forms.ActiveForm()
    session = get_session()
    target = service.get_user(session, user_id) or abort(HTTPStatus.NOT_FOUND)
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    try:
        service.set_active(
            session, user=target, is_active=form.active.data == "1", actor=signed_in_user().actor
        )
    except service.AccountError as exc:
        abort(HTTPStatus.CONFLICT, exc.translated())
    flash(_("Account %(email)s updated.", email=target.email), "info")
    return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)
