"""Where mail goes: SMTP (chosen by ``PETITION_MAIL_URL``) or, in development, files.

Both keep one connection or folder across messages, so the worker does not pay a
TCP and TLS handshake per message. Every SMTP step is bounded: the connection, each
command's answer, and one whole message (a watchdog closes the socket when it passes),
so a server that accepts and then stops answering cannot hold a worker.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
import threading
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


class ServerUnavailable(TemporaryFailure):
    """The server could not be reached, dropped the connection or stopped answering:
    nothing about this message in particular."""


class Sender(Protocol):
    def send(self, message: Message) -> None: ...

    def close(self) -> None: ...


class SMTPSender:
    """``smtp://host:port``, ``smtp+starttls://user:pass@host:587``, ``smtps://host:465``."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 10.0,
        command_timeout: float = 30.0,
        send_timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
            raise ValueError(f"unsupported mail URL scheme in {parts.scheme}://…")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.send_timeout = send_timeout
        self._conn: smtplib.SMTP | None = None
        self._timed_out = threading.Event()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        # smtplib applies its one timeout to connecting and to every later read: connect
        # with the connect bound, then give each command its own.
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.connect_timeout, context=context
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.connect_timeout)
        self._conn = conn  # from here on the watchdog can cut it
        _set_timeout(conn, self.command_timeout)
        if self.scheme == "smtp+starttls":
            conn.starttls(context=context)
            _set_timeout(conn, self.command_timeout)
        if self.username:
            conn.login(self.username, self.password or "")
        return conn

    def _cut(self) -> None:
        """The watchdog: the whole send took too long; unblock the read it waits in."""
        self._timed_out.set()
        conn = self._conn
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def send(self, message: Message) -> None:
        self._timed_out.clear()
        watchdog = threading.Timer(self.send_timeout, self._cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            self._send(message)
        except TemporaryFailure as exc:
            if self._timed_out.is_set():
                self._drop()
                raise ServerUnavailable(f"no answer within {self.send_timeout:g} s") from exc
            raise
        finally:
            watchdog.cancel()

    def _send(self, message: Message) -> None:
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
            if exc.smtp_code == 421:  # the server is closing: not this message's fault
                raise ServerUnavailable(f"server said {exc.smtp_code}") from exc
            raise TemporaryFailure(f"server said {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise ServerUnavailable(type(exc).__name__) from exc

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


def _set_timeout(conn: smtplib.SMTP, seconds: float) -> None:
    conn.timeout = seconds
    if conn.sock is not None:
        conn.sock.settimeout(seconds)


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
