"""Filling in the service's forms as a browser would."""

from __future__ import annotations

import datetime as dt
import re

from flask.testing import FlaskClient

from petition.abuse import traps
from petition.db import utcnow

CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in page"
    return found.group(1) or found.group(2)


def sign_form(client: FlaskClient, slug: str, **fields: str) -> dict[str, str]:
    """The sign form as a person sends it: they took a minute to fill it in (the
    form's bot trap flags submissions faster than a person types)."""
    page = client.get(f"/p/{slug}")
    secret = client.application.config["SECRET_KEY"]
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "shown": traps.form_shown_token(secret, at=utcnow() - dt.timedelta(minutes=1)),
        "name": "Layla Haddad",
        "email": "layla@example.org",
        "country": "SY",
    }
    data.update(fields)
    return data
