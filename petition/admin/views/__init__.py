"""The organizers' workspace: thin views over the admin, petitions, export and
moderation services, one module per area.

Importing this package attaches every view to the admin blueprint; the endpoint
names are the view functions' (``admin.login``, ``admin.batches``, …), whatever
module they live in. What every page shares (the guard, the headers) is in
:mod:`petition.admin.views.base`.
"""

from petition.admin.views import (
    account,
    audit,
    base,
    batches,
    dashboards,
    login,
    moderation,
    petitions,
    signers,
    updates,
)
from petition.admin.views.base import safe_next

__all__ = [
    "account",
    "audit",
    "base",
    "batches",
    "dashboards",
    "login",
    "moderation",
    "petitions",
    "safe_next",
    "signers",
    "updates",
]
