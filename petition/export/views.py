"""The public half of batch signing: the key recipients check batches with."""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, render_template, request, url_for

from petition import i18n
from petition.config import current_settings
from petition.db import get_session
from petition.export import batch_key, batches, bp, figures, guide, receipts
from petition.export.models import ExportBatch, ExportBatchProof
from petition.petitions import activity
from petition.petitions import service as petitions

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
    days = activity.figures_by_day(session, petition)
    response = Response(
        render_template(
            "export/batches.html",
            petition=petition,
            rows=list(reversed(rows)),
            is_chain_whole=all(r["links"] and not r["missing_before"] for r in rows),
            days=list(reversed(days))[:DAYS_SHOWN],
            days_left_out=max(len(days) - DAYS_SHOWN, 0),
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


def _figures_response(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = FIGURES_CACHE_CONTROL
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.set_etag(figures.etag_of(body))
    response.make_conditional(request)  # 304 without a body for a matching If-None-Match
    return response


@bp.get("/p/<slug>/figures.json")
def figures_json(slug: str) -> Response:
    """The petition's public figures as open data (JSON): folded counts, no signer data."""
    session = get_session()
    petition = petitions.get_by_slug(session, slug) or abort(404)
    body = json.dumps(figures.open_data(session, petition), indent=1, sort_keys=True) + "\n"
    return _figures_response(body, "application/json", f"{slug}-figures.json")


@bp.get("/p/<slug>/figures-hourly.csv")
def figures_hourly_csv(slug: str) -> Response:
    """The count hour by hour as CSV, the same rows as figures.json's ``hours``."""
    session = get_session()
    petition = petitions.get_by_slug(session, slug) or abort(404)
    rows = figures.open_data(session, petition)["hours"]
    body = figures.as_csv(rows, figures.HOUR_COLUMNS)
    return _figures_response(body, "text/csv", f"{slug}-figures-hourly.csv")


@bp.get("/p/<slug>/figures-daily.csv")
def figures_daily_csv(slug: str) -> Response:
    """The figures day by day as CSV, the same as figures.json's ``days``."""
    session = get_session()
    petition = petitions.get_by_slug(session, slug) or abort(404)
    rows = figures.day_csv_rows(figures.open_data(session, petition)["days"])
    body = figures.as_csv(rows, figures.DAY_COLUMNS)
    return _figures_response(body, "text/csv", f"{slug}-figures-daily.csv")
