"""Who is signed in to /admin: the browser session and its lifetimes.

The session cookie (signed by Flask, HttpOnly, SameSite=Lax, Secure over HTTPS)
holds the account id, the account's current session nonce and three times.
Every request checks the nonce against the database, so replacing the nonce
(logout, password change, second factor turned on or off) ends the session on
the server even if someone kept a copy of the cookie.
"""

from __future__ import annotations

import time
from typing import Any

from flask import g, session

from petition.admin import service
from petition.admin.models import User
from petition.config import current_settings
from petition.db import get_session

_KEY = "admin"
PENDING = "admin_pending"
# A password that was right waits this long for its second-factor code.
PENDING_SECONDS = 300


def start(user: User) -> None:
    """Sign ``user`` in with a new session: nothing from before survives, not
    even the CSRF token, so a session planted before login is useless."""
    session.clear()
    now = int(time.time())
    session[_KEY] = {
        "uid": user.id,
        "nonce": user.session_nonce,
        "auth_at": now,
        "seen_at": now,
    }


def start_pending(user: User) -> None:
    """The password was right; the second factor is still to come."""
    session.clear()
    session[PENDING] = {"uid": user.id, "nonce": user.session_nonce, "at": int(time.time())}


def pending_user() -> User | None:
    """The account waiting for its second-factor code, if it has not waited too long."""
    data: dict[str, Any] | None = session.get(PENDING)
    if not data or int(time.time()) - int(data.get("at", 0)) > PENDING_SECONDS:
        return None
    user = service.get_user(get_session(), int(data["uid"]))
    if user is None or not user.is_active or user.session_nonce != data.get("nonce"):
        return None
    return user


def end() -> None:
    session.clear()


def current_user() -> User | None:
    """The signed-in account, or None if there is none or its session ran out.

    Ends the session when idle longer than the idle timeout or older than the
    absolute one, whatever the browser does with its cookie.
    """
    if "admin_user" in g:
        user: User | None = g.admin_user
        return user
    g.admin_user = None
    data: dict[str, Any] | None = session.get(_KEY)
    if not data:
        return None
    settings = current_settings()
    now = int(time.time())
    idle = now - int(data.get("seen_at", 0))
    age = now - int(data.get("auth_at", 0))
    if idle > settings.admin_idle_minutes * 60 or age > settings.admin_session_hours * 3600:
        g.admin_session_expired = True
        session.pop(_KEY, None)
        return None
    user = service.get_user(get_session(), int(data["uid"]))
    if user is None or not user.is_active or user.session_nonce != data.get("nonce"):
        session.pop(_KEY, None)
        return None
    data = dict(data, seen_at=now)
    session[_KEY] = data
    g.admin_user = user
    return user
