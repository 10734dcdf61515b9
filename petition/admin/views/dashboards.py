"""The dashboards: the petitions an account runs, and one petition's figures."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from petition.admin import bp, charts, forms, service, stats
from petition.admin.access import Access, access
from petition.admin.views.base import current_petition, signed_in_user
from petition.db import get_session
from petition.export import batches as export_batches
from petition.petitions import service as petitions


@bp.get("/")
@access(Access.USER)
def dashboard() -> str:
    """The petitions this account runs, and the site's petitions by status."""
    user = signed_in_user()
    session = get_session()
    mine = service.petitions_for(session, user=user)
    ids = None if user.is_admin else [p.id for p in mine]
    return render_template(
        "admin/dashboard.html",
        petitions=mine,
        summary=stats.site_summary(session, petition_ids=ids),
    )


@bp.get("/p/<slug>")
@access(Access.USER)
def petition(slug: str) -> str:
    """One petition: counts, charts, sources, status and the signer search."""
    session = get_session()
    petition = current_petition()
    hourly = stats.over_time(session, petition=petition, unit="hour", periods=48)
    daily = stats.over_time(session, petition=petition, unit="day", periods=30)
    countries = stats.by_country(session, petition=petition)
    return render_template(
        "admin/petition.html",
        petition=petition,
        counts=stats.status_counts(session, petition=petition),
        hourly=hourly,
        daily=daily,
        countries=countries,
        hourly_chart=charts.columns(hourly, label=_("Verified signatures per hour (UTC)")),
        daily_chart=charts.columns(
            daily, label=_("Verified signatures per day (UTC)"), label_every=5
        ),
        country_chart=charts.bars(countries, label=_("Verified signatures by country")),
        sources=stats.sources(session, petition=petition),
        batches=list(reversed(export_batches.list_batches(session, petition=petition)))[:5],
        next_statuses=sorted(petitions.TRANSITIONS[petition.status]),
        status_form=forms.StatusForm(),
        search_form=forms.SearchForm(formdata=None),
    )
