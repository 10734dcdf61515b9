"""Fixtures for the API: a partner key, and signatures verified without the mailbox."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.api import service as keys
from petition.db import session_scope, utcnow
from petition.petitions.models import Petition
from petition.signing import counts
from petition.signing import service as signing
from petition.signing.models import Signature, SignatureStatus


@pytest.fixture
def api_key(app: Flask, petition: Petition) -> str:
    """A live partner key for the Daraa petition."""
    with app.app_context(), session_scope() as session:
        _key, secret = keys.create_key(
            session,
            petition=session.merge(petition),
            name="Partner Org",
            actor="cli:test",
        )
    return secret


def add_verified(app: Flask, petition: Petition, countries: list[str]) -> None:
    """Sign once per country, mark verified as a confirmation would, and fold."""
    with app.app_context(), session_scope() as session:
        merged = session.merge(petition)
        for n, country in enumerate(countries):
            signing.sign(
                session,
                petition=merged,
                signer=signing.Signer(
                    name=f"Signer {n}", email=f"s{n}-{country}@example.org", country=country
                ),
                client=signing.Client(ip="192.0.2.1"),
                ip_key=b"k",
                base_url="http://localhost",
                token_ttl=dt.timedelta(days=1),
            )
        session.execute(
            sa.update(Signature)
            .where(Signature.status == SignatureStatus.PENDING)
            .values(status=SignatureStatus.VERIFIED, verified_at=utcnow())
        )
    with app.app_context(), session_scope() as session:
        while counts.fold_counts(session):
            pass
