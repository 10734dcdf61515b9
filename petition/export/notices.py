"""The delivery mail: once a batch is delivered, each signer in it who asked at signing
("Mail me once when a batch holding my signature is delivered") gets one mail.

Marking a batch delivered (:func:`petition.export.delivery.mark_delivered`) only sets
its cursor, ``notices_through``; the worker calls :func:`queue_delivery_mail`, which
takes a batch whose cursor has not reached its last signature (on PostgreSQL ``FOR
UPDATE SKIP LOCKED``, so two workers never take the same one), and in one transaction
queues the next signers' mails (bulk priority, in each signer's language), ends their
consent and moves the cursor. So a worker killed halfway leaves either a chunk queued
with its consents spent and the cursor past it, or none of the three, and a signature
held by a later batch too (a full re-export) is not mailed again: the consent itself is
spent. A delivery cannot be marked twice (``AlreadyDelivered``).

Signers are walked one leaf block at a time (the batch's stored signature numbers,
:class:`~petition.export.models.ExportBatchLeaves`), so a signature inside the batch's
range that was not in its rows (gone before it was made) gets no mail; only a verified
signature with its address still stored does (never a withdrawn or invalidated one).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.export import leaves
from petition.export.models import ExportBatch, ExportBatchLeaves
from petition.export.serializers import iso_utc
from petition.mail import service as mail
from petition.mail.models import MailPriority
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import links, states
from petition.signing.models import Signature, SignatureStatus

logger = logging.getLogger(__name__)

TEMPLATE = "delivered"


def _next_batch(session: Session) -> ExportBatch | None:
    return session.scalars(
        sa.select(ExportBatch)
        .where(
            ExportBatch.notices_through.is_not(None),
            ExportBatch.notices_through < ExportBatch.last_sequence,
        )
        .order_by(ExportBatch.delivered_at, ExportBatch.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def _block_after(session: Session, batch: ExportBatch, cursor: int) -> tuple[int, set[int]]:
    """The last signature number of the batch's next leaf block after ``cursor``, and
    the numbers its rows hold (the range alone for a batch made before receipts)."""
    block = session.execute(
        sa.select(ExportBatchLeaves.last_sequence, ExportBatchLeaves.sequences)
        .where(ExportBatchLeaves.batch_id == batch.id, ExportBatchLeaves.last_sequence > cursor)
        .order_by(ExportBatchLeaves.block)
        .limit(1)
    ).first()
    last = batch.last_sequence
    assert last is not None  # the query took only batches with rows
    if block is None:
        return last, set(range(cursor + 1, last + 1))
    return block.last_sequence, set(leaves.unpack_sequences(block.sequences))


def queue_delivery_mail(session: Session, *, base_url: str, limit: int) -> int:
    """Queue up to ``limit`` delivery mails of the oldest batch delivered with some
    still to queue; returns how many were queued (0 when none is left).

    Flushes, never commits: the caller's transaction holds the mails, the consents
    spent and the cursor together.
    """
    if limit < 1:
        return 0
    # A block in which nobody asked moves the cursor only: go on to the next one, so
    # that a pass returns 0 only when no delivered batch has mail left to queue.
    while (batch := _next_batch(session)) is not None:
        cursor = batch.notices_through or 0
        through, held = _block_after(session, batch, cursor)
        rows = session.execute(
            sa.select(Signature.id, Signature.sequence, Signature.email, Signature.locale)
            .where(
                Signature.petition_id == batch.petition_id,
                # The bare column, as the partial index ix_signatures_delivery_consent
                # is written (SQLite matches a partial index only to the same term).
                sa.and_(sa.text("signatures.has_delivery_consent")),
                Signature.sequence > cursor,
                Signature.sequence <= through,
                Signature.status == SignatureStatus.VERIFIED,
                Signature.email.is_not(None),
            )
            .order_by(Signature.sequence)
            .limit(limit)
        ).all()
        # A full chunk may have more behind it in this block: resume after its last row.
        batch.notices_through = rows[-1].sequence if len(rows) == limit else through
        chosen = [row for row in rows if row.sequence in held]
        if chosen:
            petition = session.get(Petition, batch.petition_id)
            assert petition is not None
            _queue(session, petition=petition, batch=batch, rows=chosen, base_url=base_url)
        session.flush()
        if chosen:
            return len(chosen)
    return 0


def _queue(
    session: Session,
    *,
    petition: Petition,
    batch: ExportBatch,
    rows: list[sa.Row[int, int | None, str | None, str | None]],
    base_url: str,
) -> None:
    ids = [row.id for row in rows]
    tokens = links.add_withdraw_links(session, signature_ids=ids)
    titles: dict[str, str] = {}
    messages = []
    for row in rows:
        language = row.locale or petition.language
        if language not in titles:
            titles[language] = petitions.title_in(session, petition, language)
        payload = {
            "petition_title": titles[language],
            "batch": batch.sequence,
            "delivered_to": batch.delivered_to,
            "delivered_at": iso_utc(batch.delivered_at) if batch.delivered_at else None,
            "signature_url": links.own_page_url(base_url, petition.slug, tokens[row.id]),
        }
        messages.append((row.email, language, payload))
    mail.enqueue_many(session, template=TEMPLATE, messages=messages, priority=MailPriority.BULK)
    states.end_delivery_consent(session, signature_ids=ids)
    logger.info(
        "batch %d of petition %s: %d delivery mails queued", batch.sequence, petition.slug, len(ids)
    )
