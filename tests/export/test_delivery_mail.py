"""The delivery mail: one mail, in the signer's language, to each signer in a delivered
batch who asked for it at signing; never to the others, never twice."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.export import delivery, notices
from petition.mail.models import MailPriority, OutboxMessage
from petition.petitions.models import Petition
from petition.signing import links, service
from petition.signing.models import Signature, SignatureStatus
from tests.export.conftest import make_batch
from tests.helpers.mail import Mailbox, link_in, run_worker, text_body
from tests.signing.test_service import KEY, TTL, withdraw_token_of

SLUG = "defend-the-people-of-daraa"
TITLE = "Defend the People of Daraa"


def _sign(app: Flask, email: str, *, consent: bool, locale: str = "en") -> str:
    """Sign as ``email``; returns the withdraw link's token of the confirmation mail."""
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        service.sign(
            session,
            petition=petition,
            signer=service.Signer(
                name=email.split("@")[0].title(),
                email=email,
                country="SY",
                has_delivery_consent=consent,
            ),
            client=service.Client(ip="203.0.113.7", locale=locale),
            ip_key=KEY,
            base_url="http://localhost",
            token_ttl=TTL,
        )
        message = session.scalars(
            sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
        ).first()
        assert message is not None
        return withdraw_token_of(message)


def _confirm_all_but(app: Flask, pending: str) -> None:
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(Signature)
            .where(Signature.email != pending)
            .values(status=SignatureStatus.VERIFIED)
        )


def _deliver(app: Flask, sequence: int) -> None:
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        delivery.mark_delivered(
            session, petition=petition, sequence=sequence, to="Governor's office", actor="cli:test"
        )


def _delivery_mails(app: Flask) -> list[OutboxMessage]:
    with app.app_context(), session_scope(write=False) as session:
        return list(
            session.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.template == notices.TEMPLATE)
            )
        )


@pytest.mark.usefixtures("petition")
def test_each_signer_who_asked_is_mailed_once_in_their_language(
    mail_app: Flask, mailbox: Mailbox, tmp_path: Path
) -> None:
    app = mail_app
    _sign(app, "layla@example.org", consent=True)
    _sign(app, "omar@example.org", consent=False)
    _sign(app, "nour@example.org", consent=True, locale="ar")
    sami = _sign(app, "sami@example.org", consent=True)
    _sign(app, "rana@example.org", consent=True)
    _confirm_all_but(app, "rana@example.org")
    run_worker(app)  # folds the four confirmed ones; sends the confirmation mails
    make_batch(app, tmp_path)
    # Sami withdraws after the batch was made, before it is delivered.
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        links.withdraw(session, petition=petition, token=sami)
    run_worker(app)
    mailbox.clear()
    assert _delivery_mails(app) == []  # made, not yet delivered: nothing

    _deliver(app, 1)
    run_worker(app)
    [layla] = mailbox.to("layla@example.org")
    assert layla["Subject"] == f"Your signature was delivered: {TITLE}"
    body = text_body(layla)
    assert f"Your signature on “{TITLE}” is in batch 1, delivered to Governor's office on" in body
    assert "it is the only one" in body
    [nour] = mailbox.to("nour@example.org")
    # (The petition has no Arabic text here: its own title stands in the Arabic mail.)
    assert nour["Subject"] == f"سُلِّم توقيعك: {TITLE}"
    assert "في الدفعة 1 التي سُلّمت إلى Governor's office" in text_body(nour)
    # Not asked, withdrawn, or not in the batch (never confirmed): no mail.
    for address in ("omar@example.org", "sami@example.org", "rana@example.org"):
        assert mailbox.to(address) == []
    assert {m.priority for m in _delivery_mails(app)} == {MailPriority.BULK}

    # The mail's own link opens the signer's page, with the batch and the receipt.
    page = app.test_client().get(link_in(layla, "withdraw"))
    assert page.status_code == HTTPStatus.OK
    html = page.get_data(as_text=True)
    assert "Confirmed and counted" in html
    assert "Download your receipt" in html

    # Never twice: the delivery cannot be marked again, and a full re-export holding
    # the same signatures, delivered in its turn, mails nobody.
    with pytest.raises(delivery.AlreadyDelivered):
        _deliver(app, 1)
    make_batch(app, tmp_path / "again", full=True)
    _deliver(app, 2)
    run_worker(app)
    run_worker(app)  # a restarted worker finds nothing left to queue
    assert len(mailbox.to("layla@example.org")) == 1
    assert len(mailbox.to("nour@example.org")) == 1
    assert len(_delivery_mails(app)) == 2
    with app.app_context(), session_scope(write=False) as session:
        waiting = session.scalars(
            sa.select(Signature.email).where(Signature.has_delivery_consent.is_(True))
        )
        # Spent by the mail, erased by the withdrawal; Rana's waits for her batch.
        assert list(waiting) == ["rana@example.org"]


@pytest.mark.usefixtures("petition")
def test_a_worker_killed_mid_batch_neither_loses_nor_repeats_a_mail(
    app: Flask, tmp_path: Path
) -> None:
    for n in range(5):
        _sign(app, f"signer{n}@example.org", consent=n != 2)
    _confirm_all_but(app, "nobody")
    run_worker(app)
    make_batch(app, tmp_path)
    _deliver(app, 1)

    class Killed(Exception):
        pass

    def killed_before_commit() -> None:
        with app.app_context(), session_scope() as session:
            assert notices.queue_delivery_mail(session, base_url="http://localhost", limit=2) == 2
            raise Killed

    # Killed after queuing a chunk, before its commit: nothing of it stays.
    with pytest.raises(Killed):
        killed_before_commit()
    assert _delivery_mails(app) == []
    queued = []
    with app.app_context():
        while True:
            with session_scope() as session:
                count = notices.queue_delivery_mail(session, base_url="http://localhost", limit=1)
            if not count:
                break
            queued.append(count)
    assert queued == [1, 1, 1, 1]
    recipients = sorted(m.to_address or "" for m in _delivery_mails(app))
    assert recipients == [f"signer{n}@example.org" for n in (0, 1, 3, 4)]
