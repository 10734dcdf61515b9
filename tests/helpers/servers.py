"""Real servers for the tests: a free port, the app over HTTP."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from flask import Flask


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The app served by Werkzeug on 127.0.0.1, as a browser or client reaches it."""

    app: Flask
    url: str
