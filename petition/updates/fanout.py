"""The worker's part of an update: one outbox message per recipient, in batches.

A sent update is in state ``sending`` with a cursor (``fanout_after_id``). Each call
of :func:`fan_out` takes the oldest such update (on PostgreSQL ``FOR UPDATE SKIP
LOCKED``, so two workers never fan out the same one at once; SQLite serializes
writers), writes the next batch of messages and their deliveries, and moves the cursor,
all in the caller's transaction: a worker killed halfway leaves the last committed
batch and resumes after it, and the unique ``(update_id, signature_id)`` stops a
second message to anyone whatever happens. The worker calls it through a
:class:`Throttle`, so updates enter the outbox at ``PETITION_UPDATES_PER_SECOND`` and
mail a person waits for (a confirmation) is never queued behind thousands of them.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.mail import service as mail
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing.models import Signature
from petition.signing.tokens import new_token
from petition.updates.models import Update, UpdateDelivery, UpdateStatus
from petition.updates.service import recipient_filter

logger = logging.getLogger(__name__)

TEMPLATE = "update"


def _unsubscribe_url(base_url: str, slug: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/p/{slug}/unsubscribe/{token}"


def fan_out(session: Session, *, base_url: str, limit: int) -> int:
    """Queue up to ``limit`` messages of the oldest update being sent; returns how many.

    An update with no recipient left is marked sent on the way.
    """
    if limit < 1:
        return 0
    while True:
        update = session.scalars(
            sa.select(Update)
            .where(Update.status == UpdateStatus.SENDING)
            .order_by(Update.sent_at, Update.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if update is None:
            return 0
        petition = session.get(Petition, update.petition_id)
        assert petition is not None
        rows = session.execute(
            sa.select(Signature.id, Signature.email, Signature.locale)
            .where(*recipient_filter(petition.id), Signature.id > update.fanout_after_id)
            .order_by(Signature.id)
            .limit(limit)
        ).all()
        if rows:
            break
        # Everyone has their message: the next update being sent, if any, goes on.
        update.status = UpdateStatus.SENT
        update.finished_at = utcnow()
        logger.info("update %d: all %d messages queued", update.id, update.queued_count)
        session.flush()
    petition_url = f"{base_url.rstrip('/')}/p/{petition.slug}"
    titles: dict[str, str] = {}
    messages = []
    hashes = []
    for row in rows:
        text = update.text_in(row.locale or petition.language, petition.language)
        assert text is not None  # the petition's language is required
        if text.language not in titles:
            titles[text.language] = petitions.title_in(session, petition, text.language)
        token, hashed = new_token()
        hashes.append(hashed)
        messages.append(
            (
                row.email,
                text.language,
                {
                    "subject": text.subject,
                    "body_text": text.body_markdown,
                    "body_html": text.body_html,
                    "petition_title": titles[text.language],
                    "petition_url": petition_url,
                    "unsubscribe_url": _unsubscribe_url(base_url, petition.slug, token),
                },
            )
        )
    ids = mail.enqueue_many(session, template=TEMPLATE, messages=messages)
    session.execute(
        sa.insert(UpdateDelivery),
        [
            {
                "update_id": update.id,
                "signature_id": row.id,
                "outbox_message_id": message_id,
                "unsubscribe_token_hash": hashed,
            }
            for row, message_id, hashed in zip(rows, ids, hashes, strict=True)
        ],
    )
    update.fanout_after_id = rows[-1].id
    update.queued_count += len(rows)
    session.flush()
    return len(rows)


class Throttle:
    """How many update messages the worker may queue now: ``per_second`` on average,
    in batches of at most ``batch`` (a token bucket)."""

    def __init__(self, per_second: int, *, batch: int = 200) -> None:
        self.per_second = per_second
        self.batch = batch
        self._allowance = float(min(per_second, batch))
        self._last = time.monotonic()

    def allowance(self) -> int:
        now = time.monotonic()
        self._allowance = min(
            float(self.batch), self._allowance + (now - self._last) * self.per_second
        )
        self._last = now
        return int(self._allowance)

    def spent(self, count: int) -> None:
        self._allowance -= count
