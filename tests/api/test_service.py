"""Per-country counts follow the total through folds, withdrawals and recounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import counts as signing_counts
from petition.signing.models import Signature, SignatureStatus
from tests.api.conftest import add_verified


def counts(app: Flask, petition: Petition) -> tuple[int, list[dict[str, object]]]:
    with app.app_context(), session_scope(write=False) as session:
        merged = session.get(Petition, petition.id)
        assert merged is not None
        return merged.signature_count, petitions.country_counts(session, merged)


def test_country_counts_follow_withdrawals_and_recounts(app: Flask, petition: Petition) -> None:
    add_verified(app, petition, ["SY", "SY", "DE"])
    assert counts(app, petition) == (
        3,
        [{"country": "SY", "signature_count": 2}, {"country": "DE", "signature_count": 1}],
    )
    with app.app_context(), session_scope() as session:
        session.execute(
            sa.update(Signature)
            .where(Signature.country == "DE")
            .values(status=SignatureStatus.WITHDRAWN)
        )
    with app.app_context(), session_scope() as session:
        signing_counts.fold_counts(session)
    assert counts(app, petition) == (2, [{"country": "SY", "signature_count": 2}])

    # A recount rebuilds them exactly, whatever drift there was.
    with app.app_context(), session_scope() as session:
        session.execute(sa.text("UPDATE petition_country_counts SET signature_count = 40"))
        signing_counts.recount(session, petition=session.get(Petition, petition.id))
    assert counts(app, petition) == (2, [{"country": "SY", "signature_count": 2}])
