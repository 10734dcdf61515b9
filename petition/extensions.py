"""Flask extensions, created unbound here and bound in ``create_app``.

Flask-Migrate is bound only when migrations run: see ``petition.commands``.
"""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from petition.db import db

__all__ = ["babel", "csrf", "db", "limiter"]

csrf = CSRFProtect()
# get_remote_address reads request.remote_addr, which ProxyFix sets from exactly
# the configured number of trusted hops; a client's own X-Forwarded-For is ignored.
limiter = Limiter(key_func=get_remote_address)
babel = Babel()
