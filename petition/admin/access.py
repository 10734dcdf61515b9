"""Who may open which admin page: declared on each view, checked before it runs.

A view without a declaration is refused (deny by default), so a new page cannot
be left open by forgetting a decorator; tests walk the URL map to prove it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])


class Access(enum.StrEnum):
    # The login pages themselves.
    PUBLIC = "public"
    # Any signed-in account; a <slug> in the URL further needs that petition.
    USER = "user"
    # Admins only (accounts, the site-wide audit log).
    ADMIN = "admin"


def access(level: Access) -> Callable[[F], F]:
    def mark(view: F) -> F:
        view.admin_access = level  # type: ignore[attr-defined]
        return view

    return mark


def access_of(view: object) -> Access | None:
    level = getattr(view, "admin_access", None)
    return level if isinstance(level, Access) else None
