"""A signer reads the demand, signs, confirms from the email, and is counted."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask

from tests.helpers.forms import sign_form
from tests.helpers.mail import Mailbox, link_in, run_worker


def count(client) -> int:  # type: ignore[no-untyped-def]
    return int(client.get("/api/v1/petitions/defend-the-people-of-daraa").json["signature_count"])


def test_signer_signs_confirms_and_is_counted(mail_app: Flask, mailbox: Mailbox) -> None:
    with mail_app.app_context():
        from petition.db import session_scope
        from petition.petitions import service
        from tests.helpers import DARAA

        with session_scope() as session:
            service.publish(session, source=service.parse_petition_file(DARAA))
    client = mail_app.test_client()
    slug = "defend-the-people-of-daraa"

    page = client.get(f"/p/{slug}")
    assert page.status_code == HTTPStatus.OK
    assert "Defend the People of Daraa" in page.get_data(as_text=True)
    assert count(client) == 0

    response = client.post(
        f"/p/{slug}/sign",
        data=sign_form(client, slug, name="ليلى حداد", email="Layla@Example.org", public="y"),
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"].endswith(f"/p/{slug}/signed")

    run_worker(mail_app)
    [message] = mailbox.to("Layla@example.org")
    assert "confirm" in message["Subject"].lower()
    confirm_path = link_in(message, "confirm")

    # A mail scanner following the link does not confirm.
    assert client.get(confirm_path).status_code == HTTPStatus.OK
    assert client.head(confirm_path).status_code == HTTPStatus.OK
    run_worker(mail_app)
    assert count(client) == 0

    confirm_page = client.get(confirm_path).get_data(as_text=True)
    from tests.helpers.forms import csrf_from

    done = client.post(confirm_path, data={"csrf_token": csrf_from(confirm_page)})
    assert done.status_code == HTTPStatus.OK
    assert "confirmed" in done.get_data(as_text=True)

    run_worker(mail_app)
    assert count(client) == 1
    assert "ليلى حداد" in client.get(f"/p/{slug}").get_data(as_text=True)
