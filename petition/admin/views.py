"""The organizers' workspace: thin views over ``petition.admin.service``.

Guards run before every view (``_guard``): the page's declared access, the
session, and for URLs naming a petition, that this account may run it (404
otherwise, so nobody learns which petitions exist).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from petition.abuse import limits
from petition.abuse.models import FlagReason
from petition.admin import auth, bp, charts, forms, service, stats
from petition.admin.access import Access, access, access_of
from petition.admin.models import User, UserRole
from petition.audit import service as audit
from petition.config import current_settings
from petition.db import deferred_writes, get_session, utcnow
from petition.export import batch_key, data_export, delivery
from petition.export import batches as export_batches
from petition.moderation import service as moderation
from petition.petitions import markdown
from petition.petitions import service as petitions
from petition.petitions.models import Petition, PetitionStatus
from petition.signing import service as signing
from petition.signing.forms import clean_name
from petition.widget import service as widget

# frame-ancestors 'none' and no-store on every admin page: no clickjacking, and no
# copy of a dashboard (signers' names and addresses) left in a shared browser's cache.
ADMIN_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Endpoints an admin who must set up a second factor may still reach.
_ENROLMENT_ENDPOINTS = frozenset({"admin.account_totp", "admin.logout"})
TOTP_SETUP_KEY = "admin_totp_setup"


def _user() -> User:
    user: User = g.admin_user
    return user


def _petition() -> Petition:
    petition: Petition = g.admin_petition
    return petition


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path inside /admin on this site.

    Anything else (another host, ``//host``, a scheme, a backslash that some
    browsers read as a slash) falls back to the dashboard: no open redirect.
    """
    fallback = url_for("admin.dashboard")
    if not target or not target.startswith("/admin/") or "\\" in target:
        return fallback
    if any(ord(ch) < 0x20 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.before_request
def _guard() -> Response | None:
    view = current_app.view_functions.get(request.endpoint or "")
    level = access_of(view)
    if level is None:
        abort(HTTPStatus.FORBIDDEN)
    if level == Access.PUBLIC:
        return None
    user = auth.current_user()
    if user is None:
        if g.get("admin_session_expired"):
            flash(_("Your session ended. Please log in again."), "info")
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("admin.login", next=target), HTTPStatus.SEE_OTHER)
    if (
        current_settings().admin_require_totp
        and user.is_admin
        and not user.has_totp
        and request.endpoint not in _ENROLMENT_ENDPOINTS
    ):
        flash(_("Admins must set up a second factor before going on."), "info")
        return redirect(url_for("admin.account_totp"), HTTPStatus.SEE_OTHER)
    if level == Access.ADMIN and not user.is_admin:
        abort(HTTPStatus.FORBIDDEN)
    slug = (request.view_args or {}).get("slug")
    if slug is not None:
        g.admin_petition = service.petition_for(get_session(), user=user, slug=slug) or abort(
            HTTPStatus.NOT_FOUND
        )
    return None


@bp.after_request
def _admin_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = ADMIN_CSP
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.context_processor
def _admin_globals() -> dict[str, Any]:
    return {"current_user": g.get("admin_user"), "PetitionStatus": PetitionStatus}


# --- login and logout ----------------------------------------------------------------


def _pending_account() -> str:
    pending = session.get(auth.PENDING) or {}
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
        db = get_session()
        user = service.authenticate(db, email=form.email.data, password=form.password.data)
        if user is not None:
            target = safe_next(request.args.get("next"))
            if user.has_totp:
                auth.start_pending(user)
                return redirect(url_for("admin.login_code", next=target), HTTPStatus.SEE_OTHER)
            auth.start(user)
            service.record_login(db, user=user)
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
        db = get_session()
        if service.check_totp(db, user=user, code=form.code.data):
            auth.start(user)
            service.record_login(db, user=user)
            return redirect(safe_next(request.args.get("next")), HTTPStatus.SEE_OTHER)
        form.code.errors.append(_("That code is not right, or was used already."))
    return render_template("admin/login_code.html", form=form)


@bp.post("/logout")
@access(Access.USER)
def logout() -> Response:
    """Log out, ending every session of this account on the server."""
    form = forms.ButtonForm()
    if form.validate_on_submit():
        service.end_sessions(get_session(), user=_user())
    auth.end()
    flash(_("You are logged out."), "info")
    return redirect(url_for("admin.login"), HTTPStatus.SEE_OTHER)


# --- account -------------------------------------------------------------------------


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
    user = _user()
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
    user = _user()
    secret = session.get(TOTP_SETUP_KEY) or service.new_totp_secret()
    session[TOTP_SETUP_KEY] = secret
    form = forms.CodeForm()
    if form.validate_on_submit():
        if service.enable_totp(get_session(), user=user, secret=secret, code=form.code.data):
            session.pop(TOTP_SETUP_KEY, None)
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
    user = _user()
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


# --- dashboards ----------------------------------------------------------------------


@bp.get("/")
@access(Access.USER)
def dashboard() -> str:
    """The petitions this account runs, and the site's petitions by status."""
    user = _user()
    db = get_session()
    mine = service.petitions_for(db, user=user)
    ids = None if user.is_admin else [p.id for p in mine]
    return render_template(
        "admin/dashboard.html",
        petitions=mine,
        summary=stats.site_summary(db, petition_ids=ids),
    )


@bp.get("/p/<slug>")
@access(Access.USER)
def petition(slug: str) -> str:
    """One petition: counts, charts, sources, status and the signer search."""
    db = get_session()
    petition = _petition()
    hourly = stats.over_time(db, petition=petition, unit="hour", periods=48)
    daily = stats.over_time(db, petition=petition, unit="day", periods=30)
    countries = stats.by_country(db, petition=petition)
    return render_template(
        "admin/petition.html",
        petition=petition,
        counts=stats.status_counts(db, petition=petition),
        hourly=hourly,
        daily=daily,
        countries=countries,
        hourly_chart=charts.columns(hourly, label=_("Verified signatures per hour (UTC)")),
        daily_chart=charts.columns(
            daily, label=_("Verified signatures per day (UTC)"), label_every=5
        ),
        country_chart=charts.bars(countries, label=_("Verified signatures by country")),
        sources=stats.sources(db, petition=petition),
        batches=list(reversed(export_batches.list_batches(db, petition=petition)))[:5],
        next_statuses=sorted(petitions.TRANSITIONS[petition.status]),
        status_form=forms.StatusForm(),
        search_form=forms.SearchForm(formdata=None),
    )


# --- creating and editing petitions ---------------------------------------------------


def _preview(form: forms.PetitionForm) -> dict[str, Any]:
    source = form.source()
    return {
        "title": source.title,
        "addressed_to": source.addressed_to,
        "language": source.language,
        "body_html": markdown.render(source.body),
    }


@bp.route("/petitions/new", methods=["GET", "POST"])
@access(Access.USER)
def petition_new() -> Response | str | tuple[str, int]:
    """Write a new petition (it starts as a draft); preview before saving."""
    form = forms.PetitionForm()
    preview = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = _preview(form)
        else:
            try:
                db = get_session()
                created = service.create_petition(db, user=_user(), source=form.source())
                widget.set_embed_origins(
                    db, petition=created, origins=form.embed_value(), actor=_user().actor
                )
            except service.SlugTaken:
                form.slug.errors.append(_("Another petition already uses this web address."))
            else:
                flash(_("Draft saved. Open it when you are ready to take signatures."), "info")
                return redirect(url_for("admin.petition", slug=created.slug), HTTPStatus.SEE_OTHER)
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors else HTTPStatus.OK
    return render_template(
        "admin/petition_form.html", form=form, preview=preview, petition=None
    ), status


@bp.route("/p/<slug>/edit", methods=["GET", "POST"])
@access(Access.USER)
def petition_edit(slug: str) -> Response | str | tuple[str, int]:
    """Edit a petition; text that people signed is kept as an earlier version."""
    petition = _petition()
    form = forms.PetitionForm()
    # The web address is fixed once created: links to it are out in the world.
    form.slug.data = petition.slug
    preview = None
    if request.method == "GET":
        version = petition.current_version
        form.fill_from(
            petitions.PetitionSource(
                slug=petition.slug,
                title=petition.title,
                body=version.body_markdown if version else "",
                language=petition.language,
                addressed_to=petition.addressed_to,
                goal=petition.goal,
                closes_at=petition.closes_at,
            )
        )
        form.fill_embed(widget.embed_origins(petition))
    elif form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = _preview(form)
        else:
            db = get_session()
            saved = service.update_petition(
                db, user=_user(), petition=petition, source=form.source()
            )
            widget.set_embed_origins(
                db, petition=petition, origins=form.embed_value(), actor=_user().actor
            )
            if saved.is_new_version:
                number = petition.current_version.number if petition.current_version else 0
                flash(
                    _(
                        "Saved as text version %(number)d. People who signed earlier "
                        "keep the version they signed.",
                        number=number,
                    ),
                    "info",
                )
            else:
                flash(_("Saved."), "info")
            return redirect(url_for("admin.petition", slug=slug), HTTPStatus.SEE_OTHER)
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors else HTTPStatus.OK
    return render_template(
        "admin/petition_form.html", form=form, preview=preview, petition=petition
    ), status


@bp.route("/petitions/import", methods=["GET", "POST"])
@access(Access.USER)
def petition_import() -> Response | str | tuple[str, int]:
    """Create or update a petition from a Markdown file, as ``flask petition import``."""
    form = forms.ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        name = upload.filename or "upload.md"
        try:
            text = upload.read(forms.IMPORT_MAX + 1).decode("utf-8")
            if len(text) > forms.IMPORT_MAX:
                raise petitions.PetitionFileError(f"{name}: the file is too large")
            source = petitions.parse_petition_text(text, name=name)
            imported, created = service.import_petition(get_session(), user=_user(), source=source)
        except UnicodeDecodeError:
            form.file.errors.append(_("The file must be UTF-8 text."))
        except petitions.PetitionFileError as exc:
            form.file.errors.append(str(exc))
        except service.SlugTaken:
            form.file.errors.append(_("Another petition already uses this web address."))
        else:
            flash(_("Imported as a draft.") if created else _("Petition updated."), "info")
            return redirect(url_for("admin.petition", slug=imported.slug), HTTPStatus.SEE_OTHER)
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors else HTTPStatus.OK
    return render_template("admin/petition_import.html", form=form), status


@bp.post("/p/<slug>/status")
@access(Access.USER)
def petition_status(slug: str) -> Response | tuple[str, int]:
    """Open, close, reopen or mark a petition delivered."""
    form = forms.StatusForm()
    petition = _petition()
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    try:
        service.change_status(
            get_session(), user=_user(), petition=petition, to=PetitionStatus(form.to.data)
        )
    except delivery.NotAllDelivered as exc:
        return render_template(
            "errors/error.html",
            code=409,
            name=_("Conflict"),
            description=_("Not yet: %(why)s.", why=str(exc)),
        ), HTTPStatus.CONFLICT
    except petitions.InvalidTransition as exc:
        description = _(
            "A %(status)s petition cannot become %(to)s (%(why)s).",
            status=petition.status,
            to=form.to.data,
            why=str(exc),
        )
        return render_template(
            "errors/error.html", code=409, name=_("Conflict"), description=description
        ), HTTPStatus.CONFLICT
    flash(_("The petition is now %(status)s.", status=petition.status), "info")
    return redirect(url_for("admin.petition", slug=slug), HTTPStatus.SEE_OTHER)


# --- signers' requests ---------------------------------------------------------------


@bp.get("/p/<slug>/signatures")
@access(Access.USER)
def signature_search(slug: str) -> str | tuple[str, int]:
    """Find a signature by its exact email address (a signer's request)."""
    form = forms.SearchForm(request.args)
    found = None
    searched = False
    if request.args and form.validate():
        searched = True
        found = service.search_signature(
            get_session(), user=_user(), petition=_petition(), email=form.email.data
        )
    status = HTTPStatus.UNPROCESSABLE_ENTITY if form.errors and request.args else HTTPStatus.OK
    return render_template(
        "admin/signatures.html",
        petition=_petition(),
        form=form,
        found=found,
        searched=searched,
        withdraw_form=forms.ButtonForm(),
        name_form=forms.NameForm(formdata=None),
    ), status


def _signature(signature_id: int) -> Any:
    found = signing.get_signature(get_session(), petition=_petition(), signature_id=signature_id)
    return found or abort(HTTPStatus.NOT_FOUND)


@bp.post("/p/<slug>/signatures/<int:signature_id>/withdraw")
@access(Access.USER)
def signature_withdraw(slug: str, signature_id: int) -> Response:
    """Withdraw a signature because its signer asked (their details are erased)."""
    form = forms.ButtonForm()
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    service.withdraw_signature(get_session(), user=_user(), signature=_signature(signature_id))
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
            service.correct_name(get_session(), user=_user(), signature=signature, name=name)
        except (ValueError, ValidationError) as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("Name corrected."), "info")
            return redirect(url_for("admin.signature_search", slug=slug), HTTPStatus.SEE_OTHER)
    return render_template(
        "admin/signatures.html",
        petition=_petition(),
        form=forms.SearchForm(formdata=None),
        found=signature,
        searched=True,
        withdraw_form=forms.ButtonForm(),
        name_form=form,
    ), HTTPStatus.UNPROCESSABLE_ENTITY


# --- audit log and accounts ------------------------------------------------------------


def _petition_audit_page(reinstate: forms.ReinstateForm, *, failed_event: int | None = None) -> str:
    petition = _petition()
    db = get_session()
    events = audit.events(db, petition_id=petition.id, limit=500)
    names = service.actor_names(db, {e.actor for e in events})
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
        undone=moderation.undone_by(db, event_ids=undoable),
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
            actor=_user().actor,
            reason=form.why.data,
            petition_id=_petition().id,
        )
    except moderation.AlreadyReinstated:
        form.form_errors.append(_("This action cannot be undone: it is undone already."))
        return _petition_audit_page(form, failed_event=event_id), HTTPStatus.CONFLICT
    except moderation.CannotReinstate:
        abort(HTTPStatus.NOT_FOUND)  # no release or invalidation of this petition
    flash(_("Undone: %(count)d signatures are back as they were.", count=done), "info")
    return redirect(url_for("admin.petition_audit", slug=slug), HTTPStatus.SEE_OTHER)


@bp.get("/audit")
@access(Access.ADMIN)
def site_audit() -> str:
    """Everything done on the site, newest first."""
    db = get_session()
    events = audit.events(db, limit=500)
    names = service.actor_names(db, {e.actor for e in events})
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
                actor=_user().actor,
            )
        except service.AccountError as exc:
            form.email.errors.append(str(exc))
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
    db = get_session()
    form = forms.GrantForm()
    target = service.get_user(db, user_id) or abort(HTTPStatus.NOT_FOUND)
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    found = service.petition_for(db, user=_user(), slug=form.slug.data.strip())
    return target, found or abort(HTTPStatus.NOT_FOUND, _("There is no petition at that address."))


@bp.post("/users/<int:user_id>/grant")
@access(Access.ADMIN)
def user_grant(user_id: int) -> Response:
    """Let an organizer run a petition."""
    target, petition = _user_and_petition(user_id)
    service.grant_petition(get_session(), user=target, petition=petition, actor=_user().actor)
    flash(_("%(email)s now runs %(slug)s.", email=target.email, slug=petition.slug), "info")
    return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)


@bp.post("/users/<int:user_id>/revoke")
@access(Access.ADMIN)
def user_revoke(user_id: int) -> Response:
    """Stop an organizer running a petition."""
    target, petition = _user_and_petition(user_id)
    service.revoke_petition(get_session(), user=target, petition=petition, actor=_user().actor)
    flash(_("%(email)s no longer runs %(slug)s.", email=target.email, slug=petition.slug), "info")
    return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)


@bp.post("/users/<int:user_id>/active")
@access(Access.ADMIN)
def user_active(user_id: int) -> Response | tuple[str, int]:
    """Disable an account, or enable it again."""
    form = forms.ActiveForm()
    db = get_session()
    target = service.get_user(db, user_id) or abort(HTTPStatus.NOT_FOUND)
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    try:
        service.set_active(db, user=target, is_active=form.active.data == "1", actor=_user().actor)
    except service.AccountError as exc:
        abort(HTTPStatus.CONFLICT, str(exc))
    flash(_("Account %(email)s updated.", email=target.email), "info")
    return redirect(url_for("admin.users"), HTTPStatus.SEE_OTHER)


# --- moderation ------------------------------------------------------------------------


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
    db = get_session()
    report = moderation.flag_report(db, selection=selection) if selection else None
    count = moderation.preview_count(db, selection=selection) if selection else 0
    return render_template(
        "admin/flags.html",
        petition=_petition(),
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
    petition = _petition()
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
        form.ip_hash.errors.append(str(exc))
        return _flags_page(
            form, None, forms.ModerateForm(formdata=None)
        ), HTTPStatus.UNPROCESSABLE_ENTITY
    return _flags_page(form, selection, forms.ModerateForm(formdata=None))


@bp.post("/p/<slug>/flags")
@access(Access.USER)
def flags_act(slug: str) -> Response | tuple[str, int]:
    """Release or invalidate the previewed selection of flagged signatures."""
    moderate = forms.ModerateForm()
    petition = _petition()
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
    db = get_session()
    now_count = moderation.preview_count(db, selection=selection)
    if now_count != int(moderate.expected.data):
        # Signatures came or went since the preview: show the new figure, change nothing.
        moderate.form_errors.append(
            _(
                "The selection changed since you looked: it now holds %(count)d signatures. "
                "Check again, then confirm.",
                count=now_count,
            )
        )
        return _flags_page(form, selection, moderate), HTTPStatus.CONFLICT
    act = moderation.release if moderate.action.data == "release" else moderation.invalidate
    done = act(db, selection=selection, actor=_user().actor, reason=moderate.why.data)
    if moderate.action.data == "release":
        flash(_("%(count)d signatures released: they count now.", count=done), "info")
    else:
        flash(_("%(count)d signatures invalidated: they will not count.", count=done), "info")
    return redirect(url_for("admin.flags", slug=slug), HTTPStatus.SEE_OTHER)


# --- batches and exports ------------------------------------------------------------------


def _batch_dir(petition: Petition) -> Path:
    return Path(current_settings().batch_dir) / petition.slug


def _batches_page(**forms_: Any) -> str:
    db = get_session()
    petition = _petition()
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
        batches=list(reversed(export_batches.list_batches(db, petition=petition))),
        unexported=export_batches.unexported_count(db, petition=petition),
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
    if service.verify_password(_user(), form.password.data):
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
    petition = _petition()
    try:
        result = export_batches.make_batch(
            get_session(),
            petition=petition,
            out_dir=_batch_dir(petition),
            key=batch_key.app_key(),
            actor=_user().actor,
        )
    except export_batches.ExportError as exc:
        form.form_errors.append(str(exc))
        return _batches_page(make_form=form), HTTPStatus.CONFLICT
    except batch_key.SigningKeyError as exc:
        # No key configured on this server: say so rather than fail with a 500.
        form.form_errors.append(str(exc))
        return _batches_page(make_form=form), HTTPStatus.SERVICE_UNAVAILABLE
    flash(
        _(
            "Batch %(number)d made: %(count)d signatures.",
            number=result.batch.sequence,
            count=result.batch.signature_count,
        ),
        "info",
    )
    return redirect(url_for("admin.batches", slug=slug), HTTPStatus.SEE_OTHER)


def _batch(sequence: int) -> Any:
    try:
        return export_batches.get_batch(get_session(), petition=_petition(), sequence=sequence)
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
    path = _batch_dir(_petition()) / batch.filename
    if not path.is_file():
        abort(HTTPStatus.GONE, _("The batch file is no longer on the server."))
    service.record_download(get_session(), user=_user(), batch=batch)
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
                petition=_petition(),
                sequence=sequence,
                to=form.to.data,
                actor=_user().actor,
            )
        except export_batches.ExportError as exc:
            form.to.errors.append(str(exc))
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
    petition = _petition()
    fmt: data_export.DataFormat = "json" if form.fmt.data == "json" else "csv"
    db = get_session()
    chunks = data_export.full_data_export(db, petition=petition, fmt=fmt, actor=_user().actor)

    def body() -> Iterator[str]:
        # The request committed (with its audit event) before the first byte is
        # sent; the rows are read in a transaction of their own that locks nobody out.
        with deferred_writes():
            try:
                yield from chunks
            finally:
                db.rollback()

    response = current_app.response_class(
        stream_with_context(body()),
        mimetype="application/json" if fmt == "json" else "text/csv",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{petition.slug}-signatures.{fmt}"'
    )
    return response
