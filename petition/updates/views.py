"""What signers see of updates: the responses on the petition page."""

from __future__ import annotations

from typing import Any

from petition import i18n
from petition.db import get_session
from petition.petitions.models import Petition
from petition.updates import bp, service


@bp.app_template_global()
def petition_responses(petition: Petition) -> list[dict[str, Any]]:
    """For the petition page: the addressee's responses, dated, newest first.

    A template global so that the page (rendered by the signing domain, below this
    one) shows them without importing updates.
    """
    return service.public_responses(
        get_session(), petition_id=petition.id, reader=i18n.reader_language()
    )
