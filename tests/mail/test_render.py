"""Building the MIME message: the classic classes for ASCII addresses, the modern API otherwise."""

from __future__ import annotations

import email
import email.policy

import pytest
from flask import Flask

from petition.mail import render

PAYLOAD = {
    "name": "Zoë",
    "petition_title": "Defend the People of Daraa",
    "confirm_url": "http://localhost/p/x/confirm/abc",
    "withdraw_url": "http://localhost/p/x/withdraw/def",
    "expires_days": 7,
}


@pytest.mark.parametrize(
    ("to", "locale"),
    [("zoe@example.org", "en"), ("zoë@example.org", "en"), ("layla@example.org", "ar")],
)
def test_every_message_reads_back_with_its_headers_and_both_parts(
    app: Flask, to: str, locale: str
) -> None:
    with app.app_context():
        built = render.build(
            template="confirm",
            to=to,
            locale=locale,
            payload=PAYLOAD,
            sender="Petitions <petitions@example.org>",
            message_id="<0123abcd@example.org>",
        )
    policy = email.policy.SMTPUTF8 if not to.isascii() else email.policy.SMTP
    read = email.message_from_bytes(built.as_bytes(policy=policy), policy=email.policy.default)
    assert isinstance(read, email.message.EmailMessage)
    assert read["To"] == to
    assert read["Auto-Submitted"] == "auto-generated"
    assert read["Message-ID"] == "<0123abcd@example.org>"
    assert "Defend the People of Daraa" in str(read["Subject"])
    assert str(read["Subject"]).startswith("يُرجى" if locale == "ar" else "Please confirm")
    plain = read.get_body(preferencelist=("plain",))
    html = read.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert "http://localhost/p/x/confirm/abc" in plain.get_content()
    assert "Zoë" in plain.get_content()
