"""What the service's logs must never hold: email addresses and one-time tokens.

The confirm and withdraw links carry their token in the path, and every access
log (Werkzeug's development server, gunicorn's ``--access-logfile``, most
proxies) writes request paths. Every log record made in this process is
therefore rewritten, when it is created, with tokens and addresses replaced, so
no handler or formatter, ours or a library's, ever sees them. Names cannot be
recognized by a pattern: the service's own code never logs them (a test checks
the logs of a whole sign, confirm, withdraw run).

A reverse proxy keeps its own access log: see README, "Deployment".
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

# Path segments followed by a secret: /p/<slug>/confirm/<token>, /p/<slug>/withdraw/<token>,
# /p/<slug>/unsubscribe/<token>.
SECRET_PATH_SEGMENTS = ("confirm", "withdraw", "unsubscribe")
_SECRET_PATH = re.compile(r"(/(?:%s)/)[^/\s?#\"']+" % "|".join(SECRET_PATH_SEGMENTS))  # noqa: UP031
_SECRET_QUERY = re.compile(r"([?&](?:token|key|code)=)[^&\s#\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
REDACTED = "[redacted]"

_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """``text`` with one-time tokens and email addresses replaced."""
    text = _SECRET_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", text)
    return _EMAIL.sub("[email]", text)


def install_log_redaction() -> None:
    """Make every log record of this process redacted from its creation (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                # A malformed call: keep the record as it was, the logging module reports it.
                return record
            record.msg = redact(message)
            record.args = None
            return record

        logging.setLogRecordFactory(_redacting_factory)
        _installed = True
