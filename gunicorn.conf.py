"""Gunicorn reads this file by default when started from the project folder.

It adds a start-up check and loads the application once, in the master, before the
workers are forked; pass workers, binding and the rest on the command line as usual
(``gunicorn -w 4 -b 127.0.0.1:8000 wsgi:app``).
"""

from __future__ import annotations

from typing import Any

# Each worker is forked from a master that has the application loaded, instead of
# importing it after the fork: a worker then faults in only the pages of the
# interpreter and libraries that serving touches, not those of the imports, and
# holds about 3 MB less (bench.memory, PostgreSQL 84 -> 81 MB; docs/architecture.md,
# "Performance"). create_app() opens no database or Redis connection, so none is
# shared across the fork (tests/test_gunicorn_conf.py). New code needs a restart of the
# service, as the systemd unit and the container do; a HUP would fork the old code again.
preload_app = True


def on_starting(server: Any) -> None:
    """Warn loudly when several workers would each keep their own rate-limit counts."""
    from petition.abuse.limits import warn_if_unshared
    from petition.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError:
        return  # the app itself refuses to start with the clear message
    warn_if_unshared(settings, workers=server.cfg.workers, log=server.log)
