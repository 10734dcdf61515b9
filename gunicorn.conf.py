"""Gunicorn reads this file by default when started from the project folder.

It only adds a start-up check; pass workers, binding and the rest on the command
line as usual (``gunicorn -w 4 -b 127.0.0.1:8000 wsgi:app``).
"""

from __future__ import annotations

from typing import Any


def on_starting(server: Any) -> None:
    """Warn loudly when several workers would each keep their own rate-limit counts."""
    from petition.abuse.limits import warn_if_unshared
    from petition.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError:
        return  # the app itself refuses to start with the clear message
    warn_if_unshared(settings, workers=server.cfg.workers, log=server.log)
