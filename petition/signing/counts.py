"""Counting: the fold, the recount, and what the count holds (the public signer list,
the signatures a batch exports).

Whether a signature counts is one rule, :data:`petition.signing.models.COUNTS_WHEN`
(verified, and no moderator holds it), used here in its SQL form
(``Signature.counts``, and the text of the fold's partial index) and its Python form
(:func:`petition.signing.models.row_counts`). Confirmations, withdrawals and moderators
only change a signature's own row; :func:`fold_counts`, run by the worker, brings each
petition's count (and per-country counts) in line with the rule. Functions flush and
never commit.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from petition.db import utcnow
from petition.petitions.models import Petition, PetitionCountryCount, PetitionHourlyCount
from petition.signing import figures
from petition.signing.models import NEEDS_FOLD, Signature, SignatureStatus, row_counts

logger = logging.getLogger(__name__)

# The fold's query: the partial index ix_signatures_fold_pending covers exactly this text.
_NEEDS_FOLD = sa.text(NEEDS_FOLD)


def in_count(petition_id: int) -> list[sa.ColumnElement[bool]]:
    """Signatures the count holds as last folded: counted by the fold and still verified.

    Held ones the fold took out and ones verified a moment ago are not in it yet; the
    page's signer list and the export batches read this, so they agree with the count.
    """
    return [
        Signature.petition_id == petition_id,
        Signature.is_counted.is_(True),
        Signature.status == SignatureStatus.VERIFIED,
    ]


@dataclasses.dataclass(frozen=True)
class PublicSigner:
    name: str
    country: str


def public_signers(session: Session, petition: Petition, *, limit: int = 50) -> list[PublicSigner]:
    """Newest counted signers who chose to show their name: name and country only.

    Counted signatures carry their petition's sequence numbers in order of
    verification, so the newest are found backwards along (petition_id, sequence)
    without sorting the petition's signatures, however many there are.
    """
    rows = session.execute(
        sa.select(Signature.name, Signature.country)
        .where(*in_count(petition.id), Signature.is_public.is_(True))
        .order_by(Signature.sequence.desc())
        .limit(limit)
    )
    return [PublicSigner(name=name, country=country) for name, country in rows if name]


def fold_counts(session: Session, *, limit: int = 5000) -> int:
    """Fold changes of verified state into each petition's count; returns rows folded.

    Confirmations only touch their own row; this folds them into the petition row
    in one short transaction, so confirmations never queue on the petition's lock.
    Counted signatures get the next sequence numbers of their petition, in order
    of verification, which is the order exports follow. Several workers may fold
    at once: rows another worker holds are skipped. The daily figures are tallied
    first (:func:`petition.signing.figures.tally`), in the same transaction.
    """
    figures.tally(session)
    rows = session.execute(
        sa.select(
            Signature.id,
            Signature.petition_id,
            Signature.status,
            Signature.is_held,
            Signature.sequence,
            Signature.country,
        )
        .where(_NEEDS_FOLD)
        .order_by(Signature.petition_id, Signature.verified_at, Signature.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    by_petition: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_petition[row.petition_id].append(row)
    for petition_id, changes in by_petition.items():
        petition = session.scalars(
            sa.select(Petition).where(Petition.id == petition_id).with_for_update(of=Petition)
        ).one()
        added = [r for r in changes if row_counts(r)]
        removed = [r for r in changes if not row_counts(r)]
        updates: list[dict[str, object]] = []
        for row in added:
            params: dict[str, object] = {"row_id": row.id, "is_counted": True}
            sequence = row.sequence
            if sequence is None:
                petition.last_sequence += 1
                sequence = petition.last_sequence
            params["sequence"] = sequence
            updates.append(params)
        for row in removed:
            updates.append({"row_id": row.id, "is_counted": False, "sequence": row.sequence})
        table = sa.table(
            "signatures", sa.column("id"), sa.column("is_counted"), sa.column("sequence")
        )
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values(is_counted=sa.bindparam("is_counted"), sequence=sa.bindparam("sequence")),
            updates,
        )
        petition.signature_count += len(added) - len(removed)
        petition.updated_at = utcnow()
        by_country: Counter[str] = Counter()
        for row in added:
            by_country[row.country] += 1
        for row in removed:
            by_country[row.country] -= 1
        _add_country_counts(session, petition_id=petition_id, deltas=by_country)
        _add_hourly_counts(
            session, petition_id=petition_id, counted=len(added), uncounted=len(removed)
        )
    session.flush()
    logger.info("folded %d signature changes into %d petitions", len(rows), len(by_petition))
    return len(rows)


def _add_country_counts(session: Session, *, petition_id: int, deltas: Counter[str]) -> None:
    """Add ``deltas`` to the per-country counts; the petition row's lock orders folds.

    Rises are upserted; falls are plain updates, as a row being subtracted from was
    counted earlier and so exists (and an INSERT of a negative row would break the
    CHECK constraint before ON CONFLICT is considered).
    """
    rises = [
        {"petition_id": petition_id, "country": country, "signature_count": delta}
        for country, delta in sorted(deltas.items())
        if delta > 0
    ]
    if rises:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        insert = dialect.insert(PetitionCountryCount).values(rises)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["petition_id", "country"],
                set_={
                    "signature_count": PetitionCountryCount.signature_count
                    + insert.excluded.signature_count
                },
            )
        )
    for country, delta in sorted(deltas.items()):
        if delta < 0:
            session.execute(
                sa.update(PetitionCountryCount)
                .where(
                    PetitionCountryCount.petition_id == petition_id,
                    PetitionCountryCount.country == country,
                )
                .values(signature_count=PetitionCountryCount.signature_count + delta)
            )


def _add_hourly_counts(session: Session, *, petition_id: int, counted: int, uncounted: int) -> None:
    """Add this fold's changes to the current UTC hour's row (activity figures read it)."""
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(PetitionHourlyCount).values(
        petition_id=petition_id, hour=hour, counted=counted, uncounted=uncounted
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["petition_id", "hour"],
            set_={
                "counted": PetitionHourlyCount.counted + insert.excluded.counted,
                "uncounted": PetitionHourlyCount.uncounted + insert.excluded.uncounted,
            },
        )
    )


def recount(session: Session, *, petition: Petition) -> int:
    """Recompute a petition's count, its country counts and its tallied daily figures
    exactly from its signatures; returns the count."""
    session.execute(
        sa.select(Petition.id).where(Petition.id == petition.id).with_for_update(of=Petition)
    )
    while fold_counts(session):
        pass
    exact = (
        session.scalar(
            sa.select(sa.func.count()).where(Signature.petition_id == petition.id, Signature.counts)
        )
        or 0
    )
    if exact != petition.signature_count:
        logger.warning(
            "petition %s count corrected from %d to %d",
            petition.slug,
            petition.signature_count,
            exact,
        )
        petition.signature_count = exact
    _recount_countries(session, petition=petition)
    figures.recount(session, petition_id=petition.id)
    session.flush()
    return exact


def _recount_countries(session: Session, *, petition: Petition) -> None:
    """Rebuild the per-country counts exactly (one scan, as the total's recount)."""
    session.execute(
        sa.delete(PetitionCountryCount).where(PetitionCountryCount.petition_id == petition.id)
    )
    rows = session.execute(
        sa.select(Signature.country, sa.func.count())
        .where(Signature.petition_id == petition.id, Signature.counts)
        .group_by(Signature.country)
    ).all()
    if rows:
        session.execute(
            sa.insert(PetitionCountryCount),
            [
                {"petition_id": petition.id, "country": country, "signature_count": n}
                for country, n in rows
            ],
        )
