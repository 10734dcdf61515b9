"""Gunicorn reads this file by default when started from the project folder.

It adds start-up checks and loads the application once, in the master, before the
workers are forked; pass workers, binding and the rest on the command line as usual
(``gunicorn -w 4 -b 127.0.0.1:8000 wsgi:app``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from collections.abc import Iterable
from typing import Any

# Each worker is forked from a master that has the application loaded, instead of
# importing it after the fork: a worker then faults in only the pages of the
# interpreter and libraries that serving touches, not those of the imports, and
# holds about 3 MB less (bench.memory, PostgreSQL 84 -> 81 MB; docs/architecture.md,
# "Performance"). create_app() opens no database or Redis connection, so none is
# shared across the fork (tests/abuse/test_shared_store.py). New code needs a restart of the
# service, as the systemd unit and the container do; a HUP would fork the old code again.
preload_app = True


# The packages whose bytecode says whether `python -OO -m compileall` was run: the
# service's own, and the biggest of what it imports.
COMPILED_PACKAGES = ("petition", "sqlalchemy", "flask", "werkzeug")


def warn_if_compiling(log: Any, packages: Iterable[str] = COMPILED_PACKAGES) -> bool:
    """Under ``python -OO`` (as deployed: README, "Deployment"), warn when a package has
    no bytecode at that level: each start then compiles it from source, which takes
    longer and leaves each worker about 6 MB bigger than without -OO (bench.memory)."""
    if not sys.flags.optimize:
        return False
    missing = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.cached and not os.path.exists(spec.cached):
            missing.append(name)
    if missing:
        flag = "-" + "O" * sys.flags.optimize
        log.warning(
            "NO BYTECODE FOR python %s: %s compiled from source at every start, slower and "
            "bigger. Run once per install: %s %s -m compileall -q %s",
            flag,
            ", ".join(missing),
            sys.executable,
            flag,
            sysconfig.get_paths()["purelib"],
        )
    return bool(missing)


def on_starting(server: Any) -> None:
    """Warn loudly when several workers would each keep their own rate-limit counts, and
    when the optimized bytecode the deployment runs from is missing."""
    warn_if_compiling(server.log)
    from petition.abuse.limits import warn_if_unshared
    from petition.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError:
        return  # the app itself refuses to start with the clear message
    warn_if_unshared(settings, workers=server.cfg.workers, log=server.log)
