"""Turn an outbox row into a MIME message, in the worker, never in a request."""

from __future__ import annotations

import datetime as dt
import email.utils
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

SUBJECTS = {
    "confirm": lambda p: _("Please confirm your signature: %(title)s", title=p["petition_title"]),
    "already_signed": lambda p: _("You have already signed: %(title)s", title=p["petition_title"]),
    # Written by the organizers, in the recipient's language (petition.updates).
    "update": lambda p: p["subject"],
    "delivered": lambda p: _("Your signature was delivered: %(title)s", title=p["petition_title"]),
}


def _values(template: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What the templates get: the payload, with its timestamps (ISO 8601 in the JSON
    row) as datetimes, so that they are written in the reader's language."""
    if template == "delivered" and payload.get("delivered_at"):
        return {**payload, "delivered_at": dt.datetime.fromisoformat(payload["delivered_at"])}
    return payload


def build(
    *,
    template: str,
    to: str,
    locale: str,
    payload: dict[str, Any],
    sender: str,
    message_id: str,
) -> Message:
    with force_locale(locale):
        subject = SUBJECTS[template](payload)
        values = _values(template, payload)
        text = render_template(f"emails/{template}.txt", **values)
        html = render_template(f"emails/{template}.html", **values)
    if not (to + sender).isascii():
        # An address in another script needs the modern API's international headers.
        return _international(subject, to, sender, message_id, text, html, payload)
    # The email package's classic MIME classes: a quarter of the modern API's time
    # (which parsed every header it set), and the worker builds one per mail.
    message = MIMEMultipart("alternative")
    message["Subject"] = (
        subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject").encode()
    )
    message["From"] = sender
    message["To"] = to
    _stamp(message, message_id)
    _list_headers(message, payload)
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message


def _stamp(message: Message, message_id: str) -> None:
    message["Date"] = email.utils.formatdate(usegmt=True)
    # Made at enqueue (mail.service.new_message_id): the same on every attempt.
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"


def _list_headers(message: Message, payload: dict[str, Any]) -> None:
    """Mail to many (updates) carries RFC 8058 one-click unsubscribe: the mail client
    POSTs ``List-Unsubscribe=One-Click`` to the HTTPS address, with no session."""
    url = payload.get("unsubscribe_url")
    if url:
        message["List-Unsubscribe"] = f"<{url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Precedence"] = "bulk"


def _international(
    subject: str,
    to: str,
    sender: str,
    message_id: str,
    text: str,
    html: str,
    payload: dict[str, Any],
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    _stamp(message, message_id)
    _list_headers(message, payload)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
