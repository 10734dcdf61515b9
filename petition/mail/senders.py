"""Where mail goes: SMTP (chosen by ``PETITION_MAIL_URL``) or, in development, files.

Both keep one connection or folder across messages, so the worker does not pay a
TCP and TLS handshake per message. Every SMTP step is bounded: the connection, each
command's answer, and one whole message (a watchdog closes the socket when it passes),
so a server that accepts and then stops answering cannot hold a worker.

``send(message, hand_over=…)`` calls ``hand_over`` once every recipient was accepted and
just before the DATA that gives the server the message: the worker commits there that the
message is leaving its hands. If ``hand_over`` raises, DATA is never sent. After it, a
failure without an answer from the server (the connection dropped, the watchdog cut it)
is :class:`OutcomeUnknown`: the server may have accepted the message.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

logger = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    """Sending failed in a way that may pass: try again later."""


class PermanentFailure(Exception):
    """The server refused this message for good (e.g. unknown recipient)."""


class ServerUnavailable(TemporaryFailure):
    """The server could not be reached, dropped the connection or stopped answering:
    nothing about this message in particular."""


class OutcomeUnknown(ServerUnavailable):
    """The server failed after the message was handed over (DATA sent) and before it
    answered: it may or may not have accepted it, so it must not be sent again."""


HandOver = Callable[[], None]


class Sender(Protocol):
    def send(self, message: Message, *, hand_over: HandOver | None = None) -> None: ...

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
        self._conn: _SMTP | _SMTPSSL | None = None
        self._timed_out = threading.Event()
        self._handed_over = False

    def _connect(self) -> _SMTP | _SMTPSSL:
        context = ssl.create_default_context()
        conn: _SMTP | _SMTPSSL
        # smtplib applies its one timeout to connecting and to every later read: connect
        # with the connect bound, then give each command its own.
        if self.scheme == "smtps":
            conn = _SMTPSSL(self.host, self.port, timeout=self.connect_timeout, context=context)
        else:
            conn = _SMTP(self.host, self.port, timeout=self.connect_timeout)
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

    def send(self, message: Message, *, hand_over: HandOver | None = None) -> None:
        self._timed_out.clear()
        self._handed_over = False
        watchdog = threading.Timer(self.send_timeout, self._cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            self._send(message, hand_over)
        except TemporaryFailure as exc:
            if self._timed_out.is_set():
                self._drop()
                failure = OutcomeUnknown if self._handed_over else ServerUnavailable
                raise failure(f"no answer within {self.send_timeout:g} s") from exc
            raise
        finally:
            watchdog.cancel()

    def _hand_over(self, hand_over: HandOver | None) -> None:
        """Called by the connection just before DATA (see :class:`_SMTP`)."""
        if hand_over is not None:
            hand_over()
        self._handed_over = True

    def _send(self, message: Message, hand_over: HandOver | None) -> None:
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.before_data = lambda: self._hand_over(hand_over)
            self._conn.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes})") from exc
            raise TemporaryFailure(f"recipient deferred ({codes})") from exc
        except smtplib.SMTPResponseException as exc:
            # The server answered (to DATA too): it did not take the message, and says so.
            if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPSenderRefused):
                raise PermanentFailure(f"refused: {exc.smtp_code}") from exc
            self._drop()
            if exc.smtp_code == 421:  # the server is closing: not this message's fault
                raise ServerUnavailable(f"server said {exc.smtp_code}") from exc
            raise TemporaryFailure(f"server said {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            if self._handed_over:
                raise OutcomeUnknown(f"{type(exc).__name__} after DATA") from exc
            raise ServerUnavailable(type(exc).__name__) from exc
        except BaseException:
            # The hand-over itself failed (the database, or the claim was lost): the
            # server is left between RCPT and DATA, and DATA is never sent.
            self._drop()
            raise
        finally:
            if self._conn is not None:
                self._conn.before_data = None

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


# smtplib's sendmail() sends DATA through self.data() once the envelope is accepted:
# the one place to hand the message over between the last RCPT and DATA.
class _SMTP(smtplib.SMTP):
    before_data: Callable[[], None] | None = None

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        if self.before_data is not None:
            self.before_data()
        return super().data(msg)


class _SMTPSSL(smtplib.SMTP_SSL):
    before_data: Callable[[], None] | None = None

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        if self.before_data is not None:
            self.before_data()
        return super().data(msg)


def _set_timeout(conn: smtplib.SMTP, seconds: float) -> None:
    conn.timeout = seconds
    if conn.sock is not None:
        conn.sock.settimeout(seconds)


class FileSender:
    """Development only: each message is written as an ``.eml`` file, shown at /dev/mail."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: Message, *, hand_over: HandOver | None = None) -> None:
        if hand_over is not None:
            hand_over()
        name = f"{time.time_ns()}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(message.as_bytes())
        tmp.rename(self.folder / name)

    def close(self) -> None:
        pass
