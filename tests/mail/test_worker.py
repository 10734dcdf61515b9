"""The worker delivers the outbox over real SMTP, retries, and loses nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from petition import create_app, worker
from petition.config import Settings
from petition.db import db, session_scope, utcnow
from petition.mail.models import OutboxMessage, OutboxStatus
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from tests.helpers import DARAA
from tests.helpers.mail import Mailbox, link_in, text_body
from tests.helpers.servers import free_port
from tests.signing.test_service import do_sign, signer


def load_petition(app: Flask) -> Petition:
    with app.app_context(), session_scope() as session:
        return petitions.publish(session, source=petitions.parse_petition_file(DARAA))


def messages(app: Flask) -> list[OutboxMessage]:
    with app.app_context(), session_scope(write=False) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_confirmation_mail_has_text_and_html_and_both_links(
    mail_app: Flask, mailbox: Mailbox
) -> None:
    petition = load_petition(mail_app)
    do_sign(mail_app, petition, signer("reader@example.org", name="ليلى"))
    worker.run(mail_app, once=True)
    [message] = mailbox.to("reader@example.org")
    assert message["Subject"] == "Please confirm your signature: Defend the People of Daraa"
    assert message["From"] == "Petitions <petitions@localhost>"
    assert message["Message-ID"]
    assert message.get_body(preferencelist=("html",)) is not None
    body = text_body(message)
    assert "Hello ليلى," in body
    assert link_in(message, "confirm").startswith("/p/defend-the-people-of-daraa/confirm/")
    assert link_in(message, "withdraw").startswith("/p/defend-the-people-of-daraa/withdraw/")
    [row] = messages(mail_app)
    # Once delivered, the address and the one-time links are erased from the outbox.
    assert (row.status, row.to_address, row.payload) == (OutboxStatus.SENT, None, None)


def test_mail_server_down_keeps_the_message_due_without_spending_its_attempts(
    settings: Settings, mailbox: Mailbox, smtp_server: tuple[object, Mailbox]
) -> None:
    dead = create_app(dataclasses.replace(settings, mail_url=f"smtp://127.0.0.1:{free_port()}"))
    petition = load_petition(dead)
    do_sign(dead, petition, signer())
    worker.run(dead, once=True)
    [row] = messages(dead)
    # The server failed, not the message: an outage through the night must not use up
    # the attempts of every queued mail. The worker backs off as a whole instead.
    assert (row.status, row.attempts, row.claimed_by) == (OutboxStatus.QUEUED, 0, None)
    assert row.last_error == "ConnectionRefusedError"
    assert row.next_attempt_at <= utcnow()
    assert row.to_address == "layla@example.org"
    with dead.app_context():
        db.engine.dispose()

    port = smtp_server[0].port  # type: ignore[attr-defined]
    alive = create_app(dataclasses.replace(settings, mail_url=f"smtp://127.0.0.1:{port}"))
    worker.run(alive, once=True)
    assert len(mailbox.to("layla@example.org")) == 1
    with alive.app_context():
        db.engine.dispose()


class Deferring(Mailbox):
    """A server that answers every message "451 try again later"."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        return "451 4.3.0 Try again later"


@pytest.fixture
def deferring_server() -> Iterator[Controller]:
    controller = Controller(Deferring(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def test_a_deferred_message_backs_off_then_gives_up_after_max_attempts(
    settings: Settings, deferring_server: Controller
) -> None:
    deferring = create_app(
        dataclasses.replace(
            settings, mail_url=f"smtp://127.0.0.1:{deferring_server.port}", mail_max_attempts=2
        )
    )
    petition = load_petition(deferring)
    do_sign(deferring, petition, signer())
    worker.run(deferring, once=True)
    [row] = messages(deferring)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.QUEUED, 1, "server said 451")
    assert row.next_attempt_at > utcnow() + dt.timedelta(seconds=20)
    with deferring.app_context(), session_scope() as session:
        session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
    worker.run(deferring, once=True)
    [row] = messages(deferring)
    assert (row.status, row.attempts, row.to_address) == (OutboxStatus.FAILED, 2, None)
    with deferring.app_context():
        db.engine.dispose()


def test_crash_between_signing_and_delivery_loses_nothing(
    mail_app: Flask, mailbox: Mailbox
) -> None:
    petition = load_petition(mail_app)
    # The request committed the signature and its mail; then the process died
    # before any worker ran. A worker started later finds the mail and sends it.
    do_sign(mail_app, petition, signer())
    assert mailbox.to("layla@example.org") == []
    restarted = create_app(mail_app.config["PETITION_SETTINGS"])
    worker.run(restarted, once=True)
    assert len(mailbox.to("layla@example.org")) == 1
    with restarted.app_context():
        db.engine.dispose()


def test_a_failed_transaction_leaves_neither_signature_nor_mail(
    mail_app: Flask, mailbox: Mailbox
) -> None:
    petition = load_petition(mail_app)

    class Crash(Exception):
        pass

    def sign_then_crash() -> None:
        from petition.signing import service

        with mail_app.app_context(), session_scope() as session:
            service.sign(
                session,
                petition=session.get(Petition, petition.id),  # type: ignore[arg-type]
                signer=signer(),
                client=service.Client(ip="127.0.0.1"),
                ip_key=b"k",
                base_url="http://localhost",
                token_ttl=dt.timedelta(days=7),
            )
            raise Crash

    with pytest.raises(Crash):
        sign_then_crash()
    assert messages(mail_app) == []
    worker.run(mail_app, once=True)
    assert mailbox.messages == []


def test_development_keeps_mail_in_files_and_shows_it_at_dev_mail(app: Flask) -> None:
    petition = load_petition(app)
    do_sign(app, petition, signer())
    worker.run(app, once=True)
    folder = Path(app.config["PETITION_SETTINGS"].instance_path) / "mail"
    [kept] = list(folder.glob("*.eml"))
    client = app.test_client()
    listing = client.get("/dev/mail").get_data(as_text=True)
    assert "Please confirm your signature" in listing
    shown = client.get(f"/dev/mail/{kept.name}").get_data(as_text=True)
    assert '<a href="http://localhost/p/defend-the-people-of-daraa/confirm/' in shown
    assert client.get("/dev/mail/..%2Fpetition.sqlite3").status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"env": "production", "secret_key": "x" * 40, "mail_url": "smtp://h:25"},
        {"mail_url": "smtp://127.0.0.1:25"},
    ],
)
def test_dev_mail_is_404_outside_development_or_with_smtp(
    settings: Settings, change: dict[str, str]
) -> None:
    app = create_app(dataclasses.replace(settings, **change))  # type: ignore[arg-type]
    assert app.test_client().get("/dev/mail").status_code == 404
    with app.app_context():
        db.engine.dispose()
