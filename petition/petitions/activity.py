"""How fast a petition is being signed, from what the worker folds (never a scan).

The per-hour activity table folded by the worker (the transparency page, issue 17)
does not exist yet: the fold records counts per petition and per country, not when
they rose. Until it does, the figure is unknown and pages leave its line out.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from petition.petitions.models import Petition


def signed_in_last_day(session: Session, petition: Petition) -> int | None:
    """Signatures counted in the last 24 hours, or ``None`` while that is unknown.

    Follow-up: read it from the per-hour counts folded by the worker (issue 17's
    activity table) once they exist. Counting the petition's signatures here instead
    would scan them on every page view, which DESIGN.md rules out.
    """
    del session, petition
    return None
