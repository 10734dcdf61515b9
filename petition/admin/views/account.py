"""One's own account: the password and the second factor."""

from __future__ import annotations

from http import HTTPStatus

from flask import abort, flash, redirect, render_template, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from petition.admin import auth, bp, forms, service
from petition.admin.access import Access, access
from petition.admin.views.base import signed_in_user
from petition.config import current_settings
from petition.db import get_session

TOTP_SETUP_KEY = "admin_totp_setup"


@bp.get("/account")
@access(Access.USER)
def account() -> str:
    """The account page: password and second factor."""
    return render_template(
        "admin/account.html",
        password_form=forms.NewPasswordForm(),
        totp_off_form=forms.PasswordConfirmForm(),
    )


@bp.post("/account/password")
@access(Access.USER)
def account_password() -> Response | tuple[str, int]:
    """Change one's password; every session, this one included, ends."""
    form = forms.NewPasswordForm()
    user = signed_in_user()
    if form.validate_on_submit():
        if service.verify_password(user, form.current.data):
            service.set_password(
                get_session(), user=user, password=form.password.data, actor=user.actor
            )
            auth.end()
            flash(_("Password changed. Please log in with the new one."), "info")
            return redirect(url_for("admin.login"), HTTPStatus.SEE_OTHER)
        form.current.errors.append(_("That is not your current password."))
    return render_template(
        "admin/account.html", password_form=form, totp_off_form=forms.PasswordConfirmForm()
    ), HTTPStatus.UNPROCESSABLE_ENTITY


@bp.route("/account/totp", methods=["GET", "POST"])
@access(Access.USER)
def account_totp() -> Response | str | tuple[str, int]:
    """Set up the second factor: scan (or type) the secret, then enter a code."""
    user = signed_in_user()
    secret = browser_session.get(TOTP_SETUP_KEY) or service.new_totp_secret()
    browser_session[TOTP_SETUP_KEY] = secret
    form = forms.CodeForm()
    if form.validate_on_submit():
        if service.enable_totp(get_session(), user=user, secret=secret, code=form.code.data):
            browser_session.pop(TOTP_SETUP_KEY, None)
            auth.end()
            flash(_("Second factor on. Please log in again with a code."), "info")
            return redirect(url_for("admin.login"), HTTPStatus.SEE_OTHER)
        form.code.errors.append(_("That code is not right. Check the time on your phone."))
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors else HTTPStatus.OK
    return render_template(
        "admin/account_totp.html", form=form, secret=secret, uri=service.totp_uri(user, secret)
    ), status


@bp.post("/account/totp/off")
@access(Access.USER)
def account_totp_off() -> Response | tuple[str, int]:
    """Turn the second factor off (asks for the password again)."""
    user = signed_in_user()
    form = forms.PasswordConfirmForm()
    if form.validate_on_submit() and service.verify_password(user, form.password.data):
        if current_settings().admin_require_totp and user.is_admin:
            abort(HTTPStatus.CONFLICT, _("Admins must keep a second factor on this site."))
        service.disable_totp(get_session(), user=user, actor=user.actor)
        auth.end()
        flash(_("Second factor off. Please log in again."), "info")
        return redirect(url_for("admin.login"), HTTPStatus.SEE_OTHER)
    form.password.errors.append(_("That is not your password."))
    return render_template(
        "admin/account.html", password_form=forms.NewPasswordForm(), totp_off_form=form
    ), HTTPStatus.UNPROCESSABLE_ENTITY
