"""A signer's mailed links keep working whatever a stranger types into the form (issue 13).

Layla signs. A stranger types her address into the form before she confirms, and
again after (the mail limit per mailbox allows three mails an hour); each time her
mailbox gets an "already signed" mail with links of its own.
Months on, she withdraws with the link in her first mail; every other link then says
truthfully that the signature was withdrawn, never that it counts.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask

from tests.helpers import DARAA
from tests.helpers.forms import csrf_from, sign_form
from tests.helpers.mail import Mailbox, link_in, run_worker

SLUG = "defend-the-people-of-daraa"


def count(client) -> int:  # type: ignore[no-untyped-def]
    return int(client.get(f"/api/v1/petitions/{SLUG}").json["signature_count"])


def press(client, path: str):  # type: ignore[no-untyped-def]
    """Open a mailed link and press its button, as a person would."""
    page = client.get(path)
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "confirm_withdraw": "yes"}
    return page, client.post(path, data=form)


def test_a_stranger_signing_with_her_address_breaks_none_of_her_links(
    mail_app: Flask, mailbox: Mailbox
) -> None:
    with mail_app.app_context():
        from petition.db import session_scope
        from petition.petitions import service

        with session_scope() as session:
            service.publish(session, source=service.parse_petition_file(DARAA))
    layla = mail_app.test_client()
    layla.post(f"/p/{SLUG}/sign", data=sign_form(layla, SLUG, email="layla@example.org"))
    run_worker(mail_app)
    [first] = mailbox.to("layla@example.org")
    first_confirm, first_withdraw = link_in(first, "confirm"), link_in(first, "withdraw")

    # Before she confirms, a stranger signs with her address: her confirm link still works.
    stranger = mail_app.test_client()
    stranger.post(f"/p/{SLUG}/sign", data=sign_form(stranger, SLUG, email="layla@example.org"))
    run_worker(mail_app)
    _, confirmed = press(layla, first_confirm)
    assert confirmed.status_code == HTTPStatus.OK
    run_worker(mail_app)
    assert count(layla) == 1

    # Again, after she confirmed.
    stranger.post(f"/p/{SLUG}/sign", data=sign_form(stranger, SLUG, email="layla@example.org"))
    run_worker(mail_app)
    messages = mailbox.to("layla@example.org")
    assert len(messages) == 3
    assert all("already" in m["Subject"].lower() for m in messages[1:])
    later_withdraws = [link_in(m, "withdraw") for m in messages[1:]]
    second_confirm = link_in(messages[1], "confirm")
    assert len({first_withdraw, *later_withdraws}) == 3

    # The first mail's withdraw link works.
    page, withdrawn = press(layla, first_withdraw)
    assert page.status_code == HTTPStatus.OK
    assert withdrawn.status_code == HTTPStatus.OK
    assert "Your signature is withdrawn" in withdrawn.get_data(as_text=True)
    run_worker(mail_app)
    assert count(layla) == 0

    # Every link of the signature, used or not, now says so, and nothing else.
    csrf = csrf_from(layla.get(f"/p/{SLUG}").get_data(as_text=True))
    for path in [first_withdraw, *later_withdraws, first_confirm, second_confirm]:
        for response in (layla.get(path), layla.post(path, data={"csrf_token": csrf})):
            text = response.get_data(as_text=True)
            assert response.status_code == HTTPStatus.GONE, path
            assert "This signature was withdrawn" in text
            assert "signature counts" not in text
            assert "nothing more is needed" not in text.lower()
            assert "not valid" not in text
    # A link we never mailed is unknown, and says nothing about counting either.
    unknown = layla.get(first_withdraw[:-6] + "AAAAAA")
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert "signature counts" not in unknown.get_data(as_text=True)
