"""Turn an outbox row into a MIME message, in the worker, never in a request."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

SUBJECTS = {
    "confirm": lambda p: _("Please confirm your signature: %(title)s", title=p["petition_title"]),
    "already_signed": lambda p: _("You have already signed: %(title)s", title=p["petition_title"]),
}


def build(
    *, template: str, to: str, locale: str, payload: dict[str, Any], sender: str, domain: str
) -> EmailMessage:
    with force_locale(locale):
        subject = SUBJECTS[template](payload)
        text = render_template(f"emails/{template}.txt", **payload)
        html = render_template(f"emails/{template}.html", **payload)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
