"""The public half of batch signing: the key recipients check batches with."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, render_template, request, url_for

from petition import i18n
from petition.config import current_settings
from petition.db import get_session, utcnow
from petition.export import batch_key, batches, bp, figures, guide, receipts
from petition.export.models import ExportBatch, ExportBatchProof
from petition.petitions import activity
from petition.petitions import service as petitions
from petition.petitions.cache import MicroCache, micro_cache

logger = logging.getLogger(__name__)
_warned: list[bool] = []  # say once per process that the key is missing, not per page

# Recipients and caches may keep the key a while; a rotated key is a new file anyway.
KEY_CACHE_CONTROL = "public, max-age=3600"


@bp.get("/.well-known/petition-signing-key.pem")
def signing_key() -> Response:
    """Serve the public key that verifies every batch's manifest.sig."""
    try:
        pem = batch_key.app_public_key().pem
    except batch_key.SigningKeyError:
        logger.exception("no batch signing key to publish")
        abort(404)
    response = Response(pem, mimetype="application/x-pem-file")
    response.headers["Cache-Control"] = KEY_CACHE_CONTROL
    response.headers["Content-Disposition"] = 'inline; filename="petition-signing-key.pem"'
    return response


@bp.get(guide.PATH)
def verify_guide() -> Response:
    """Show recipients how to check a batch, in their language, with this service's key."""
    language = i18n.reader_language()
    try:
        body = guide.render_guide(language, base_url=current_settings().base_url)
    except OSError:
        logger.exception("the recipient's guide is missing from this installation")
        abort(404)
    response = Response(
        render_template(
            "export/verify.html",
            guide_html=body,
            guide_language=guide.guide_language(language),
        )
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# Batches change only when one is made or delivered; a minute's staleness is harmless.
BATCHES_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
# The page shows the latest days of the figures; the open data holds every day.
DAYS_SHOWN = 31


@bp.get("/p/<slug>/batches")
def public_batches(slug: str) -> Response:
    """Every batch made for the petition, its Merkle root and chain, and the petition's
    figures day by day: no signer data."""
    session = get_session()
    petition = petitions.get_by_slug(session, slug) or abort(404)
    made = batches.list_batches(session, petition=petition)
    stored = set(
        session.scalars(
            sa.select(ExportBatchProof.batch_id).where(
                ExportBatchProof.batch_id.in_([b.id for b in made] or [-1])
            )
        )
    )
    rows = []
    previous: ExportBatch | None = None
    for batch in made:
        # The link holds when this batch names the manifest of the one before it (and
        # batch 1 names none): what `flask petition verify --previous` checks, from the
        # recorded hashes, so anyone can see a gap or a swapped batch at a glance. A
        # number missing before it is shown too (the hashes would not match either).
        links = batch.previous_manifest_sha256 == (previous.manifest_sha256 if previous else None)
        follows = batch.sequence == (previous.sequence + 1 if previous else 1)
        rows.append(
            {
                "batch": batch,
                "links": links,
                "missing_before": not follows,
                "has_manifest": batch.id in stored,
            }
        )
        previous = batch
    # The latest days only: the open data holds every day.
    since = utcnow().date() - dt.timedelta(days=DAYS_SHOWN - 1)
    days = activity.figures_by_day(session, petition, since=since)
    began = petition.opened_at or petition.created_at
    response = Response(
        render_template(
            "export/batches.html",
            petition=petition,
            rows=list(reversed(rows)),
            is_chain_whole=all(r["links"] and not r["missing_before"] for r in rows),
            days=list(reversed(days)),
            has_earlier_days=began.date() < since,
        )
    )
    response.headers["Cache-Control"] = BATCHES_CACHE_CONTROL
    return response


def _proof(slug: str, sequence: int) -> ExportBatchProof:
    session = get_session()
    petition = petitions.get_by_slug(session, slug) or abort(404)
    try:
        batch = batches.get_batch(session, petition=petition, sequence=sequence)
    except batches.BatchNotFound:
        abort(404)
    return session.get(ExportBatchProof, batch.id) or abort(404)


@bp.get("/p/<slug>/batches/<int:sequence>/manifest.json")
def batch_manifest(slug: str, sequence: int) -> Response:
    """The batch's signed manifest, byte for byte (no signer data in it)."""
    response = Response(_proof(slug, sequence).manifest_json, mimetype="application/json")
    response.headers["Cache-Control"] = KEY_CACHE_CONTROL
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{slug}-batch-{sequence}-manifest.json"'
    )
    return response


@bp.get("/p/<slug>/batches/<int:sequence>/manifest.sig")
def batch_manifest_sig(slug: str, sequence: int) -> Response:
    """The Ed25519 signature of the batch's manifest."""
    response = Response(_proof(slug, sequence).manifest_sig, mimetype="application/octet-stream")
    response.headers["Cache-Control"] = KEY_CACHE_CONTROL
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{slug}-batch-{sequence}-manifest.sig"'
    )
    return response


@bp.get("/p/<slug>/withdraw/<token>/receipt.json")
def signers_receipt(slug: str, token: str) -> Response:
    """The signer's inclusion receipt, through the link they were mailed (404 until a
    delivered batch holds their signature)."""
    session = get_session()
    petition = petitions.get_by_slug(session, slug) or abort(404)
    receipt = receipts.signers_receipt(session, petition=petition, token=token)
    if receipt is None:
        abort(404)
    response = Response(receipts.dump(receipt), mimetype="application/json")
    # The signer's own proof: not for shared caches.
    response.headers["Cache-Control"] = "no-store"
    filename = f"{slug}-signature-{receipt['sequence']}-receipt.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _delivery(petition: Any, sequence: int | None, token: str) -> dict[str, Any] | None:
    """For the signer's own page (signing/withdraw.html): the delivered batch holding
    their signature (number, to whom, when) and their receipt's address; None until
    then. Only that batch's public facts (/p/<slug>/batches shows them to anyone)."""
    placed = receipts.delivered_batch(get_session(), petition=petition, sequence=sequence)
    if placed is None:
        return None
    return {
        "batch": placed.batch.sequence,
        "to": placed.batch.delivered_to,
        "at": placed.batch.delivered_at,
        "receipt_url": url_for("export.signers_receipt", slug=petition.slug, token=token),
    }


def _fingerprint() -> str | None:
    # A service without its key (misconfigured production) still shows its petitions;
    # only exports refuse to run, and they say why.
    try:
        return batch_key.app_public_key().fingerprint
    except batch_key.SigningKeyError as exc:
        if not _warned:
            logger.error("no batch signing key, petition pages show no fingerprint: %s", exc)
            _warned.append(True)
        return None


@bp.app_context_processor
def _key_globals() -> dict[str, Any]:
    # A function, so that only the pages that show the fingerprint read the key.
    return {"signing_key_fingerprint": _fingerprint, "signature_delivery": _delivery}


# Figures change at each fold (every few seconds); a minute's staleness is harmless and
# lets a proxy answer a crowd of readers of the open data.
FIGURES_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
# Made once a minute per process: a year of hours is 8,760 rows to read and write out
# (about 160 ms of CPU, bench/figures.py), the same minute a proxy keeps them.
FIGURES_KEEP_SECONDS = 60


def _figures_cache() -> MicroCache | None:
    """Figures kept for as long as readers' caches may keep them (a minute), in this
    process; nothing is kept where nothing else is (``page_cache_seconds`` 0)."""
    if micro_cache() is None:
        return None
    cache: MicroCache = current_app.extensions.setdefault(
        "petition_figures_cache", MicroCache(FIGURES_KEEP_SECONDS, maxsize=256)
    )
    return cache


def _figures_response(
    slug: str, kind: str, mimetype: str, make: Callable[[dict[str, Any]], str]
) -> Response:
    """The figures of ``slug`` made into ``kind`` by ``make``, kept a minute."""
    cache = _figures_cache()
    key = (kind, slug)
    kept = cache.get(key) if cache is not None else None
    if kept is None:
        session = get_session()
        petition = petitions.get_by_slug(session, slug) or abort(404)
        body = make(figures.open_data(session, petition))
        kept = (body, figures.etag_of(body))
        if cache is not None:
            cache.put(key, kept)
    response = Response(kept[0], mimetype=mimetype)
    response.headers["Cache-Control"] = FIGURES_CACHE_CONTROL
    response.headers["Content-Disposition"] = f'inline; filename="{slug}-{kind}"'
    response.set_etag(kept[1])
    response.make_conditional(request)  # 304 without a body for a matching If-None-Match
    return response


def _json(document: dict[str, Any]) -> str:
    # Compact, so the standard library's C encoder writes it (indenting is pure Python).
    return json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


@bp.get("/p/<slug>/figures.json")
def figures_json(slug: str) -> Response:
    """The petition's public figures as open data (JSON): folded counts, no signer data."""
    return _figures_response(slug, "figures.json", "application/json", _json)


@bp.get("/p/<slug>/figures-hourly.csv")
def figures_hourly_csv(slug: str) -> Response:
    """The count hour by hour as CSV, the same rows as figures.json's ``hours``."""
    return _figures_response(
        slug,
        "figures-hourly.csv",
        "text/csv",
        lambda document: figures.as_csv(document["hours"], figures.HOUR_COLUMNS),
    )


@bp.get("/p/<slug>/figures-daily.csv")
def figures_daily_csv(slug: str) -> Response:
    """The figures day by day as CSV, the same as figures.json's ``days``."""
    return _figures_response(
        slug,
        "figures-daily.csv",
        "text/csv",
        lambda document: figures.as_csv(
            figures.day_csv_rows(document["days"]), figures.DAY_COLUMNS
        ),
    )
