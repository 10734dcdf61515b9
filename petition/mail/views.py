"""/dev/mail: read the mail the development server kept (development only)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from http import HTTPStatus
from typing import TYPE_CHECKING

from flask import abort, render_template
from markupsafe import Markup, escape

from petition.config import current_settings
from petition.mail import bp

if TYPE_CHECKING:
    from pathlib import Path

_NAME = re.compile(r"^\d+\.eml$")
_LINK = re.compile(r"https?://[^\s<>\"]+")


def _folder_or_404() -> Path:
    settings = current_settings()
    if not settings.is_development or settings.mail_url:
        abort(HTTPStatus.NOT_FOUND)
    from petition.mail.worker import dev_mail_folder

    return dev_mail_folder(settings)


def _read(path: Path) -> EmailMessage:
    # Here, not at the top: the modern email API (email.policy and its header parser,
    # 0.5 MB) and the mail worker serve only this development page, in no worker of a
    # production server (tests/test_imports.py).
    import email
    import email.policy

    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _linkify(text: str) -> Markup:
    escaped = str(escape(text))
    # The text is escaped first; only the links we match become markup.
    linked = _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return Markup(linked)  # noqa: S704


@bp.get("/dev/mail")
def outbox() -> str:
    """List the mail kept in development, newest first."""
    folder = _folder_or_404()
    paths = sorted(folder.glob("*.eml"), reverse=True)[:100] if folder.exists() else []
    messages = [(p.name, _read(p)) for p in paths]
    return render_template("mail/outbox.html", messages=messages)


@bp.get("/dev/mail/<name>")
def message(name: str) -> str:
    """Show one kept message with its links clickable."""
    folder = _folder_or_404()
    path = folder / name
    if not _NAME.match(name) or not path.exists():
        abort(HTTPStatus.NOT_FOUND)
    mime = _read(path)
    body = mime.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return render_template("mail/message.html", message=mime, body=_linkify(text))
