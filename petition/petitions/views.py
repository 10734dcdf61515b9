"""Public pages of a petition: the list, the live count, the share card.

The petition page itself, with its sign form, is the signing domain's view
(:func:`petition.signing.views.page`, endpoint ``petitions.page``).
"""

from __future__ import annotations

import hashlib

from babel import Locale
from flask import Response, abort, render_template, request
from flask_babel import force_locale, format_number, get_translations
from werkzeug.wrappers import Response as BaseResponse

from petition import i18n
from petition.db import get_session
from petition.petitions import activity, bp, service, sharing
from petition.petitions.cache import micro_cache, petition_by_slug
from petition.petitions.models import Petition
from petition.urls import external_url


@bp.app_template_global()
def petition_title(petition: Petition) -> str:
    """For templates: the petition's title in the reader's language when translated."""
    return service.title_in(get_session(), petition, i18n.reader_language())


@bp.app_template_global()
def petition_url(petition: Petition) -> str:
    """The petition's canonical address, from PETITION_BASE_URL, never the request's Host."""
    return external_url("petitions.page", slug=petition.slug)


@bp.app_template_global()
def share_links(*, url: str, text: str, subject: str) -> list[sharing.ShareLink]:
    """For templates: the plain share addresses (petition.petitions.sharing)."""
    return sharing.share_links(url=url, text=text, subject=subject)


@bp.app_template_global()
def signed_in_last_day(petition: Petition) -> int | None:
    """For templates: signatures counted in the last 24 hours (``None``: unknown)."""
    return activity.signed_in_last_day(get_session(), petition)


@bp.app_template_filter()
def country_name(code: str) -> str:
    """An ISO 3166-1 code as the country's name in the reader's language (CLDR)."""
    return str(Locale.parse(i18n.reader_language()).territories.get(code, code))


@bp.get("/")
def index() -> str:
    """List the open petitions."""
    session = get_session()
    found = service.list_open(session)
    reader = i18n.reader_language()
    translations = {
        p.id: t
        for p in found
        if p.current_version is not None
        and reader != p.language
        and (t := service.translation_for(session, version=p.current_version, language=reader))
    }
    return render_template("petitions/index.html", petitions=found, translations=translations)


@bp.get("/p/<slug>/count")
def count(slug: str) -> BaseResponse:
    """The count section alone, in the reader's language, for the live-count script."""
    # Every open page polls this: kept a few seconds with its ETag, it costs no query.
    cache = micro_cache()
    key = ("count", slug, i18n.reader_language())
    kept: tuple[str, str] | None = cache.get(key) if cache is not None else None
    if kept is None:
        petition = petition_by_slug(get_session(), slug) or abort(404)
        html = render_template("petitions/_count.html", petition=petition)
        kept = (html, hashlib.sha256(html.encode()).hexdigest()[:32])
        if cache is not None:
            cache.put(key, kept)
    response = Response(kept[0])
    response.set_etag(kept[1])
    # As short as the API's: a proxy absorbs a crowd of open pages.
    response.headers["Cache-Control"] = "public, max-age=5, stale-while-revalidate=30"
    return response.make_conditional(request)


@bp.get("/p/<slug>/countries")
def countries(slug: str) -> Response:
    """Every country the petition's verified signers gave, with its count (folded)."""
    petition = service.get_by_slug(get_session(), slug) or abort(404)
    found = service.country_counts(get_session(), petition)
    response = Response(
        render_template("petitions/countries.html", petition=petition, countries=found)
    )
    response.headers["Cache-Control"] = "public, max-age=60, stale-while-revalidate=300"
    return response


@bp.get("/p/<slug>/card.png")
def card(slug: str) -> Response:
    """The share preview image of a petition, drawn by the service itself."""
    from petition.petitions import card as card_image  # Pillow (2 MB): only this view draws

    petition = service.get_by_slug(get_session(), slug) or abort(404)
    # The card speaks the petition's language: it is what a shared link shows to all.
    language = petition.language if petition.language in i18n.LANGUAGES else "en"
    with force_locale(language):
        # The page's msgid; flask_babel's ngettext would put the raw number in
        # %(num)s, the card shows it formatted for the language, as the page does.
        count_line = get_translations().ungettext(
            "%(num)s verified signature", "%(num)s verified signatures", petition.signature_count
        ) % {"num": format_number(petition.signature_count)}
    response = Response(card_image.render(petition.title, count_line), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
