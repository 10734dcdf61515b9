"""What the test SMTP server received, and reading the mail."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import Flask

from petition import worker


@dataclass
class Mailbox:
    """What the test SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[attr-defined]
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, kind: str) -> str:
    """The path of the /confirm/ or /withdraw/ link in a received mail."""
    found = re.search(rf"http://localhost(/p/[\w-]+/{kind}/[\w-]+)", text_body(message))
    assert found, f"no {kind} link in:\n{text_body(message)}"
    return found.group(1)


def run_worker(app: Flask) -> None:
    worker.run(app, once=True)
