"""Updates through the outbox to a real SMTP server (aiosmtpd): who receives them, in
which language, with which headers; one-click unsubscribe; refusals; resuming."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections import Counter
from email.message import EmailMessage
from http import HTTPStatus
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from petition import create_app, worker
from petition.config import Settings
from petition.db import db, session_scope, utcnow
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.petitions.models import Petition
from petition.signing.models import Signature
from petition.updates import fanout
from petition.updates import service as updates
from petition.updates.models import Update, UpdateDelivery, UpdateKind, UpdateStatus
from tests.helpers.mail import Mailbox, run_worker, text_body
from tests.helpers.servers import free_port
from tests.mail.test_delivery import HoldingMailbox, kill_worker_while_held
from tests.updates.conftest import SLUG, Signers, add_signer

EN = updates.TextSource(
    subject="We delivered the petition",
    body="We handed it over today. [Read the report](https://example.org/report).",
)
AR = updates.TextSource(subject="سلّمنا العريضة", body="سلّمناها اليوم.")


def _petition(session) -> Petition:  # type: ignore[no-untyped-def]
    return session.scalars(sa.select(Petition).where(Petition.slug == SLUG)).one()


def _send_update(app: Flask, *, reason: str | None = None, **texts: updates.TextSource) -> int:
    with app.app_context(), session_scope() as session:
        petition = _petition(session)
        draft = updates.save_draft(
            session,
            petition=petition,
            source=updates.DraftSource(kind=UpdateKind.NEWS, texts=texts or {"en": EN, "ar": AR}),
            actor="user:1",
        )
        updates.send(
            session,
            petition=petition,
            update=draft,
            actor="user:1",
            min_days=7,
            override_reason=reason,
        )
        return draft.id


def _updates_in(mailbox: Mailbox) -> list[EmailMessage]:
    subjects = {EN.subject, AR.subject}
    with mailbox.lock:
        return [m for m in mailbox.messages if m["Subject"] in subjects]


def _unsubscribe_path(message: EmailMessage) -> str:
    found = re.search(r"http://localhost(/p/[\w-]+/unsubscribe/[\w-]+)", text_body(message))
    assert found, text_body(message)
    return found.group(1)


def test_an_update_reaches_exactly_the_consenting_verified_signers_in_their_language(
    app: Flask, mail_app: Flask, mailbox: Mailbox, signers: Signers
) -> None:
    update_id = _send_update(app)
    run_worker(mail_app)

    received = {m["To"]: m for m in _updates_in(mailbox)}
    assert set(received) == signers.recipients
    english, arabic = received[signers.english], received[signers.arabic]
    assert english["Subject"] == EN.subject
    assert arabic["Subject"] == AR.subject
    assert "سلّمناها اليوم." in text_body(arabic)
    # The service's own words are in the recipient's language too.
    assert "لإيقاف التحديثات عن هذه العريضة:" in text_body(arabic)
    assert "Stop updates about this petition:" in text_body(english)
    html = arabic.get_body(preferencelist=("html",))
    assert html is not None
    assert 'lang="ar" dir="rtl"' in str(html.get_content())

    # RFC 8058: one-click unsubscribe to an HTTPS (here the test's base) address, and
    # the same link visible in the text.
    path = _unsubscribe_path(english)
    # (The header is folded onto its own line, being long: hence the strip.)
    assert english["List-Unsubscribe"].strip() == f"<http://localhost{path}>"
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # No tracking: no image, and the organizer's link goes out as written.
    english_html = str(english.get_body(preferencelist=("html",)).get_content())  # type: ignore[union-attr]
    assert "<img" not in english_html
    assert 'href="https://example.org/report"' in english_html

    with app.app_context(), session_scope() as session:
        update = session.get(Update, update_id)
        assert update is not None
        assert update.status == UpdateStatus.SENT
        assert update.queued_count == 2
        figures = updates.delivery_figures(session, update=update)
        assert figures == updates.DeliveryFigures(queued=0, sent=2, bounced=0, unsubscribed=0)
        # The addresses and links are erased from the outbox once delivered.
        payloads = session.scalars(
            sa.select(OutboxMessage.payload).where(OutboxMessage.template == "update")
        ).all()
        assert payloads == [None, None]


def test_one_click_unsubscribe_without_session_or_csrf_and_a_get_only_shows_a_button(
    app: Flask, mail_app: Flask, mailbox: Mailbox, signers: Signers
) -> None:
    _send_update(app)
    run_worker(mail_app)
    [message] = [m for m in _updates_in(mailbox) if m["To"] == signers.english]
    path = _unsubscribe_path(message)
    client = app.test_client()

    page = client.get(path)
    assert page.status_code == HTTPStatus.OK
    assert page.headers["Cache-Control"] == "no-store"
    assert "Stop updates" in page.get_data(as_text=True)
    assert f'action="{path}"' in page.get_data(as_text=True)
    assert _consents(app, signers.english)

    # What a mail client sends (RFC 8058): no cookie, no CSRF token.
    done = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == HTTPStatus.OK
    assert "You will get no more updates" in done.get_data(as_text=True)
    assert not _consents(app, signers.english)
    # Used again, it says what is true.
    again = client.post(path)
    assert again.status_code == HTTPStatus.OK
    assert "You will get no more updates" in again.get_data(as_text=True)
    assert "You will get no more updates" in client.get(path).get_data(as_text=True)

    assert client.get(path + "x").status_code == HTTPStatus.NOT_FOUND
    assert client.post(path + "x").status_code == HTTPStatus.NOT_FOUND
    assert client.post(f"/p/no-such-petition/unsubscribe/{path.rsplit('/', 1)[1]}").status_code == (
        HTTPStatus.NOT_FOUND
    )

    # The next update skips them.
    mailbox.clear()
    _send_update(app, reason="test")
    run_worker(mail_app)
    assert {m["To"] for m in _updates_in(mailbox)} == {signers.arabic}


def _consents(app: Flask, email: str) -> bool:
    with app.app_context(), session_scope() as session:
        return bool(
            session.scalar(sa.select(Signature.has_update_consent).where(Signature.email == email))
        )


def test_unsubscribing_cancels_an_update_still_queued(
    app: Flask, mail_app: Flask, mailbox: Mailbox, signers: Signers
) -> None:
    # The first update went out; the second waits in the outbox when its signer
    # unsubscribes with the first one's link: it must not be sent.
    _send_update(app)
    run_worker(mail_app)
    [first] = [m for m in _updates_in(mailbox) if m["To"] == signers.arabic]
    mailbox.clear()
    second = _send_update(app, reason="the answer came")
    with app.app_context(), session_scope() as session:
        assert fanout.fan_out(session, base_url="http://localhost", limit=100) == 2

    assert app.test_client().post(_unsubscribe_path(first)).status_code == HTTPStatus.OK
    run_worker(mail_app)
    assert {m["To"] for m in _updates_in(mailbox)} == {signers.english}
    with app.app_context(), session_scope() as session:
        update = session.get(Update, second)
        assert update is not None
        figures = updates.delivery_figures(session, update=update)
    assert figures == updates.DeliveryFigures(queued=0, sent=1, bounced=0, unsubscribed=1)


class RefusingMailbox(Mailbox):
    """Refuses, for good (550), every recipient whose address starts with "gone"."""

    async def handle_RCPT(  # noqa: N802
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        if address.startswith("gone"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def refusing_smtp() -> object:
    mailbox = RefusingMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def test_a_refused_address_is_counted_and_skipped_by_later_updates(
    app: Flask, make_app: object, refusing_smtp: tuple[Controller, Mailbox], signers: Signers
) -> None:
    add_signer(app, "gone@example.org")
    controller, mailbox = refusing_smtp
    sending = make_app(mail_url=f"smtp://127.0.0.1:{controller.port}")  # type: ignore[operator]
    first = _send_update(app)
    run_worker(sending)
    assert {m["To"] for m in _updates_in(mailbox)} == signers.recipients
    with app.app_context(), session_scope() as session:
        petition = _petition(session)
        update = session.get(Update, first)
        assert update is not None
        assert updates.delivery_figures(session, update=update).bounced == 1
        assert update.recipient_count == 3
        # Refused for good once: the next update does not try again.
        assert updates.recipient_count(session, petition=petition) == 2


def test_a_fan_out_killed_halfway_resumes_and_sends_each_once(
    app: Flask, mail_app: Flask, mailbox: Mailbox, signers: Signers
) -> None:
    for n in range(5):
        add_signer(app, f"more{n}@example.org")
    update_id = _send_update(app)
    # One batch committed, then a worker dies in the middle of the next (its
    # transaction never commits).
    with app.app_context(), session_scope() as session:
        assert fanout.fan_out(session, base_url="http://localhost", limit=3) == 3
    with app.app_context():
        session = session_scope()
        fanned = session.__enter__()
        assert fanout.fan_out(fanned, base_url="http://localhost", limit=3) == 3
        session.__exit__(RuntimeError, RuntimeError("killed"), None)  # rolled back
    run_worker(mail_app)

    received = [m["To"] for m in _updates_in(mailbox)]
    assert sorted(received) == sorted(
        {*signers.recipients, *(f"more{n}@example.org" for n in range(5))}
    )
    with app.app_context(), session_scope() as session:
        deliveries = session.scalar(
            sa.select(sa.func.count())
            .select_from(UpdateDelivery)
            .where(UpdateDelivery.update_id == update_id)
        )
        assert deliveries == 7
        update = session.get(Update, update_id)
        assert update is not None
        assert update.status == UpdateStatus.SENT


class _Clock:
    """The throttle's clock, moved by the test: the bucket's arithmetic is the subject,
    and under load a real 0.2 s sleep overslept, or a pause between two calls refilled."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_the_throttle_lets_through_the_set_rate_in_bounded_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(fanout, "time", clock)
    throttle = fanout.Throttle(50, batch=20)
    assert throttle.allowance() == 20
    throttle.spent(20)
    assert throttle.allowance() == 0
    clock.now += 0.2
    assert throttle.allowance() == 10
    clock.now += 1
    assert throttle.allowance() == 20  # never more than one batch at once


def test_fan_out_queues_at_most_the_limit(app: Flask, signers: Signers) -> None:
    _send_update(app)
    with app.app_context(), session_scope() as session:
        assert fanout.fan_out(session, base_url="http://localhost", limit=1) == 1
        assert fanout.fan_out(session, base_url="http://localhost", limit=0) == 0
        assert fanout.fan_out(session, base_url="http://localhost", limit=5) == 1
        assert fanout.fan_out(session, base_url="http://localhost", limit=5) == 0
        queued = session.scalars(
            sa.select(OutboxMessage.status).where(OutboxMessage.template == "update")
        ).all()
    assert queued == [OutboxStatus.QUEUED, OutboxStatus.QUEUED]


def _clear_outbox(app: Flask) -> None:
    """The signers' own confirmation mail is not what these tests count."""
    with app.app_context(), session_scope() as session:
        session.execute(sa.delete(OutboxMessage))


def test_a_signing_surge_is_mailed_before_the_queued_update(
    app: Flask, mail_app: Flask, mailbox: Mailbox, signers: Signers
) -> None:
    for n in range(10):
        add_signer(app, f"more{n}@example.org")
    _clear_outbox(app)
    _send_update(app)
    with app.app_context(), session_scope() as session:
        assert fanout.fan_out(session, base_url="http://localhost", limit=200) == 12
    # A surge signs while the update waits in the outbox.
    surge = [f"surge{n}@example.org" for n in range(8)]
    for email in surge:
        add_signer(app, email, consent=False)
    run_worker(mail_app)

    order = [m["To"] for m in mailbox.messages]
    assert len(order) == 20
    assert set(order[:8]) == set(surge)
    assert all(m["Subject"] in {EN.subject, AR.subject} for m in mailbox.messages[8:])


@pytest.mark.slow
def test_a_worker_killed_during_an_update_then_restarted_delivers_each_once(
    settings: Settings, signers: Signers, tmp_path: Path
) -> None:
    # Held after its recipient, before DATA: the dead worker never handed it over.
    holding = HoldingMailbox(hold_after=10, phase="rcpt")
    controller = Controller(holding, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = dataclasses.replace(
            settings,
            mail_url=f"smtp://127.0.0.1:{controller.port}",
            mail_lease_seconds=4,
            mail_send_timeout_seconds=2,
        )
        app = create_app(settings)
        for n in range(28):
            add_signer(app, f"more{n}@example.org")
        expected = {*signers.recipients, *(f"more{n}@example.org" for n in range(28))}
        _clear_outbox(app)
        update_id = _send_update(app)
        log = tmp_path / "worker.log"
        # Five a second: the worker fans the update out in several batches.
        kill_worker_while_held(settings, holding, log, wait=60, PETITION_UPDATES_PER_SECOND="5")
        holding.release.set()
        with app.app_context(), session_scope(write=False) as session:
            update = session.get(Update, update_id)
            assert update is not None
            # Killed halfway: some of the update still to fan out, some sent.
            assert update.status == UpdateStatus.SENDING
            assert 10 < update.queued_count < 30
        with app.app_context(), session_scope(write=False) as session:
            held_until = session.scalar(sa.select(sa.func.max(OutboxMessage.lease_until)))
        assert held_until is not None
        worker.run(app, once=True)
        # The next worker, once the dead one's lease has passed (not a whole lease later).
        time.sleep(max(0.0, (held_until - utcnow()).total_seconds()) + 0.1)
        worker.run(app, once=True)

        received = Counter(m["To"] for m in holding.messages)
        assert received == dict.fromkeys(expected, 1)
        with app.app_context(), session_scope(write=False) as session:
            update = session.get(Update, update_id)
            assert update is not None
            assert update.status == UpdateStatus.SENT
            assert updates.delivery_figures(session, update=update).sent == 30
        with app.app_context():
            db.engine.dispose()
    finally:
        holding.release.set()
        controller.stop()


def test_the_running_worker_queues_updates_at_the_set_rate(
    make_app: object, signers: Signers
) -> None:
    # The app of the signers fixture shares the database with this one.
    throttled = make_app(updates_per_second=5)  # type: ignore[operator]
    for n in range(38):
        add_signer(throttled, f"more{n}@example.org")
    _send_update(throttled)
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(throttled,), kwargs={"stop": stop})
    started = time.monotonic()
    running.start()
    time.sleep(2.5)
    with throttled.app_context(), session_scope(write=False) as session:
        queued = session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "update")
        )
    elapsed = time.monotonic() - started
    stop.set()
    running.join(30)
    assert not running.is_alive()
    # Five at once, then five a second: never the forty at once, whatever the load.
    assert 1 <= queued <= 5 + 5 * elapsed + 1
    assert queued < 40
