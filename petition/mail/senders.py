"""Where mail goes: SMTP (chosen by ``PETITION_MAIL_URL``) or, in development, files.

Both keep one connection or folder for a whole batch, so the worker does not
pay a TCP and TLS handshake per message.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
from email.message import Message
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    """Sending failed in a way that may pass: try again later."""


class PermanentFailure(Exception):
    """The server refused this message for good (e.g. unknown recipient)."""


class Sender(Protocol):
    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class SMTPSender:
    """``smtp://host:port``, ``smtp+starttls://user:pass@host:587``, ``smtps://host:465``."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
            raise ValueError(f"unsupported mail URL scheme in {parts.scheme}://…")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.scheme == "smtp+starttls":
                conn.starttls(context=context)
        if self.username:
            conn.login(self.username, self.password or "")
        return conn

    def send(self, message: Message) -> None:
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes})") from exc
            raise TemporaryFailure(f"recipient deferred ({codes})") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPSenderRefused):
                raise PermanentFailure(f"refused: {exc.smtp_code}") from exc
            self._drop()
            raise TemporaryFailure(f"server said {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryFailure(type(exc).__name__) from exc

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()


class FileSender:
    """Development only: each message is written as an ``.eml`` file, shown at /dev/mail."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: Message) -> None:
        name = f"{time.time_ns()}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(message.as_bytes())
        tmp.rename(self.folder / name)

    def close(self) -> None:
        pass
