"""Plain helpers for the tests (fixtures stay in the conftest files)."""

from __future__ import annotations

import os

from petition.config import PROJECT_ROOT

DARAA = PROJECT_ROOT / "content" / "defend-the-people-of-daraa.md"
# In CI every real component must be there: a skipped PostgreSQL run would hide failures.
REQUIRE_ALL = os.environ.get("CI", "").lower() == "true"
