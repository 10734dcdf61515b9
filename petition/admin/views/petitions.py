"""Creating, importing and editing petitions, and moving their status."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from petition.admin import bp, forms, service
from petition.admin.access import Access, access
from petition.admin.views.base import current_petition, signed_in_user
from petition.db import get_session
from petition.export import delivery
from petition.i18n import label
from petition.petitions import markdown
from petition.petitions import service as petitions
from petition.petitions.models import PetitionStatus
from petition.widget import service as widget


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
                session = get_session()
                created = service.create_petition(
                    session, user=signed_in_user(), source=form.source()
                )
                widget.set_embed_origins(
                    session,
                    petition=created,
                    origins=form.embed_value(),
                    actor=signed_in_user().actor,
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
    petition = current_petition()
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
            session = get_session()
            saved = service.update_petition(
                session, user=signed_in_user(), petition=petition, source=form.source()
            )
            widget.set_embed_origins(
                session, petition=petition, origins=form.embed_value(), actor=signed_in_user().actor
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
                raise petitions.PetitionFileError("too-large", file=name)
            source = petitions.parse_petition_text(text, name=name)
            imported, created = service.import_petition(
                get_session(), user=signed_in_user(), source=source
            )
        except UnicodeDecodeError:
            form.file.errors.append(_("The file must be UTF-8 text."))
        except petitions.PetitionFileError as exc:
            form.file.errors.append(exc.translated())
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
    petition = current_petition()
    if not form.validate_on_submit():
        abort(HTTPStatus.BAD_REQUEST)
    try:
        service.change_status(
            get_session(), user=signed_in_user(), petition=petition, to=PetitionStatus(form.to.data)
        )
    except delivery.NotAllDelivered as exc:
        return render_template(
            "errors/error.html",
            code=409,
            name=_("Conflict"),
            description=_("Not yet: %(why)s", why=exc.translated()),
        ), HTTPStatus.CONFLICT
    except petitions.InvalidTransition as exc:
        description = exc.translated()
        return render_template(
            "errors/error.html", code=409, name=_("Conflict"), description=description
        ), HTTPStatus.CONFLICT
    flash(
        _("The petition is now %(status)s.", status=label(petition.status, "petition_status")),
        "info",
    )
    return redirect(url_for("admin.petition", slug=slug), HTTPStatus.SEE_OTHER)
