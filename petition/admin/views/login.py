"""Logging in (with the second factor) and out."""

from __future__ import annotations

from http import HTTPStatus

from flask import flash, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from petition.abuse import limits
from petition.admin import auth, bp, forms, service
from petition.admin.access import Access, access
from petition.admin.views.base import safe_next, signed_in_user
from petition.db import get_session


def _pending_account() -> str:
    pending = browser_session.get(auth.PENDING) or {}
    return f"pending-user:{pending.get('uid', '-')}"


@bp.route("/login", methods=["GET", "POST"])
@limits.login_per_ip
@access(Access.PUBLIC)
def login() -> Response | str:
    """Log in with email and password."""
    if request.method == "GET" and auth.current_user() is not None:
        return redirect(safe_next(request.args.get("next")), HTTPStatus.SEE_OTHER)
    form = forms.LoginForm()
    if form.validate_on_submit():
        # Every attempt counts against the account typed, whether it exists or not
        # (the answer must not tell); windows expire, so the owner is never locked out.
        limits.check_login_attempt(form.email.data)
        session = get_session()
        user = service.authenticate(session, email=form.email.data, password=form.password.data)
        if user is not None:
            target = safe_next(request.args.get("next"))
            if user.has_totp:
                auth.start_pending(user)
                return redirect(url_for("admin.login_code", next=target), HTTPStatus.SEE_OTHER)
            auth.start(user)
            service.record_login(session, user=user)
            return redirect(target, HTTPStatus.SEE_OTHER)
        # One message for an unknown address and a wrong password (no enumeration).
        form.form_errors.append(_("That email address and password do not match an account."))
    return render_template("admin/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limits.login_per_ip
@access(Access.PUBLIC)
def login_code() -> Response | str:
    """Second step of login: the code from the authenticator app."""
    user = auth.pending_user()
    if user is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("admin.login"), HTTPStatus.SEE_OTHER)
    form = forms.CodeForm()
    if form.validate_on_submit():
        # Six digits are guessable: codes count against the account's login limit too.
        limits.check_login_attempt(_pending_account())
        session = get_session()
        if service.check_totp(session, user=user, code=form.code.data):
            auth.start(user)
            service.record_login(session, user=user)
            return redirect(safe_next(request.args.get("next")), HTTPStatus.SEE_OTHER)
        form.code.errors.append(_("That code is not right, or was used already."))
    return render_template("admin/login_code.html", form=form)


@bp.post("/logout")
@access(Access.USER)
def logout() -> Response:
    """Log out, ending every session of this account on the server."""
    form = forms.ButtonForm()
    if form.validate_on_submit():
        service.end_sessions(get_session(), user=signed_in_user())
    auth.end()
    flash(_("You are logged out."), "info")
    return redirect(url_for("admin.login"), HTTPStatus.SEE_OTHER)
