"""Signers of the Daraa petition in every state an update must tell apart, and its
Arabic translation (so updates are written in both languages)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.config import PROJECT_ROOT
from petition.db import session_scope
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing import counts
from petition.signing import service as signing
from petition.signing.models import Signature, SignatureStatus

SLUG = "defend-the-people-of-daraa"
ARABIC = PROJECT_ROOT / "content" / "defend-the-people-of-daraa.ar.md"


def add_signer(
    app: Flask,
    email: str,
    *,
    consent: bool = True,
    locale: str = "en",
    status: SignatureStatus = SignatureStatus.VERIFIED,
    held: bool = False,
) -> int:
    """A signature made through signing.sign, then put in ``status``."""
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition).where(Petition.slug == SLUG)).one()
        result = signing.sign(
            session,
            petition=petition,
            signer=signing.Signer(
                name="Layla Haddad", email=email, country="SY", has_update_consent=consent
            ),
            client=signing.Client(ip="192.0.2.1", locale=locale),
            ip_key=b"k",
            base_url="http://localhost",
            token_ttl=dt.timedelta(days=1),
        )
        row = session.get(Signature, result.signature_id)
        assert row is not None
        row.status = status
        row.is_held = held
        if status == SignatureStatus.VERIFIED:
            row.verified_at = dt.datetime.now(dt.UTC)
        if status == SignatureStatus.WITHDRAWN:
            row.name = row.email = row.canonical_email = None
        session.flush()
        counts.fold_counts(session)
        return result.signature_id


@dataclasses.dataclass(frozen=True)
class Signers:
    english: str = "english@example.org"
    arabic: str = "arabic@example.org"
    # Each of these must get nothing.
    no_consent: str = "quiet@example.org"
    pending: str = "pending@example.org"
    withdrawn: str = "withdrawn@example.org"
    held: str = "held@example.org"

    @property
    def recipients(self) -> set[str]:
        return {self.english, self.arabic}


@pytest.fixture
def arabic(app: Flask, petition: Petition) -> Petition:
    """The petition with its Arabic translation."""
    source = petitions.parse_file(ARABIC)
    assert isinstance(source, petitions.TranslationSource)
    with app.app_context(), session_scope() as session:
        petitions.add_translation(session, source=source)
    return petition


@pytest.fixture
def signers(app: Flask, arabic: Petition) -> Signers:
    people = Signers()
    add_signer(app, people.english)
    add_signer(app, people.arabic, locale="ar")
    add_signer(app, people.no_consent, consent=False)
    add_signer(app, people.pending, status=SignatureStatus.PENDING)
    add_signer(app, people.withdrawn, status=SignatureStatus.WITHDRAWN)
    add_signer(app, people.held, held=True)
    return people
