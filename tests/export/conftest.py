"""Fixtures for exports: verified signatures put in place quickly, batches on disk."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

import petition.db as database
from petition.db import session_scope
from petition.petitions.models import Petition
from petition.signing.counts import fold_counts
from petition.signing.models import Signature, SignatureStatus


@dataclasses.dataclass
class Signatures:
    """Adds verified signatures to a petition the way the worker would count them."""

    app: Flask
    petition_id: int

    def add(
        self,
        names: Iterable[str],
        *,
        country: str = "SY",
        postcode: str | None = None,
        fold: bool = True,
        held: bool = False,
    ) -> list[int]:
        now = dt.datetime.now(dt.UTC)
        ids = []
        with self.app.app_context(), session_scope() as session:
            petition = session.get(Petition, self.petition_id)
            assert petition is not None
            for offset, name in enumerate(names):
                email = f"{uuid.uuid4().hex[:12]}@example.org"
                signature = Signature(
                    petition_id=petition.id,
                    version_id=petition.current_version_id,
                    name=name,
                    email=email,
                    canonical_email=email,
                    country=country,
                    postcode=postcode,
                    has_update_consent=offset % 2 == 0,
                    status=SignatureStatus.VERIFIED,
                    is_held=held,
                    verified_at=now + dt.timedelta(microseconds=offset),
                )
                session.add(signature)
                session.flush()
                ids.append(signature.id)
        if fold:
            self.fold()
        return ids

    def fold(self) -> None:
        with self.app.app_context(), session_scope() as session:
            while fold_counts(session):
                pass

    def set_status(self, sequences: Iterable[int], status: SignatureStatus) -> None:
        """Withdraw (erasing the name, as the signing service does) or invalidate."""
        values: dict[str, object] = {"status": status}
        if status == SignatureStatus.WITHDRAWN:
            values.update(name=None, email=None, canonical_email=None, postcode=None)
        with self.app.app_context(), session_scope() as session:
            session.execute(
                sa.update(Signature)
                .where(
                    Signature.petition_id == self.petition_id,
                    Signature.sequence.in_(list(sequences)),
                )
                .values(**values)
            )
        self.fold()


@pytest.fixture
def signatures(app: Flask, petition: Petition) -> Signatures:
    return Signatures(app, petition.id)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "batches"
    folder.mkdir()
    return folder


def make_batch(app: Flask, out_dir: Path, *, full: bool = False, actor: str = "cli:test") -> Path:
    """The next batch of the Daraa petition, through the service."""
    from petition.export import batch_key, batches

    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        result = batches.make_batch(
            session,
            petition=petition,
            out_dir=out_dir,
            key=batch_key.app_key(app),
            actor=actor,
            is_full_reexport=full,
        )
        return result.path


def read_csv(path: Path, member: str) -> list[list[str]]:
    import csv
    import io
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return list(csv.reader(io.StringIO(zf.read(member).decode("utf-8"), newline="")))


def read_manifest(path: Path) -> dict[str, object]:
    import json
    import zipfile

    with zipfile.ZipFile(path) as zf:
        manifest: dict[str, object] = json.loads(zf.read("manifest.json"))
        return manifest


@dataclasses.dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Every ``utcnow`` of the package answers the test's time (UTC)."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    controlled = Clock(today - dt.timedelta(days=2))
    real = database.utcnow
    for name, module in list(sys.modules.items()):
        if name.startswith("petition") and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", controlled)
    yield controlled
    # A module first imported during the test took the controlled clock by name, and
    # monkeypatch restores only what it set: petition.status, imported lazily, kept a
    # clock two days behind, and a later status test in the same process saw no mail due.
    for name, module in list(sys.modules.items()):
        if name.startswith("petition") and getattr(module, "utcnow", None) is controlled:
            module.utcnow = real  # type: ignore[attr-defined]
