"""The organizers' full data export: every signature with email and consent.

Not a delivery batch: nothing is signed or recorded as a batch, only the export
itself, in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.audit import service as audit
from petition.export.serializers import FULL_COLUMNS, CsvLines, full_row, json_array
from petition.export.zipfiles import YIELD_PER
from petition.petitions import service as petitions
from petition.petitions.models import Petition
from petition.signing.models import Signature

DataFormat = Literal["csv", "json"]


def full_data_export(
    session: Session, *, petition: Petition, fmt: DataFormat, actor: str
) -> Iterator[str]:
    """Every signature of the petition with email and consent, for its organizers.

    Not a delivery batch: nothing is signed or recorded as a batch. The export is
    recorded in the audit log now; the text is produced as it is read, so the caller
    can stream it to a file or a response with flat memory.
    """
    audit.record(
        session,
        actor=actor,
        action="export.full",
        petition_id=petition.id,
        affected=petition.signature_count,
        details={"format": fmt},
    )
    version_sha = petitions.version_hashes(session, petition_id=petition.id)
    query = (
        sa.select(
            Signature.sequence,
            Signature.status,
            Signature.name,
            Signature.email,
            Signature.country,
            Signature.postcode,
            Signature.is_public,
            Signature.has_update_consent,
            Signature.source,
            Signature.source_origin,
            Signature.created_at,
            Signature.verified_at,
            Signature.withdrawn_at,
            Signature.version_id,
        )
        .where(Signature.petition_id == petition.id)
        .order_by(Signature.id)
        .execution_options(yield_per=YIELD_PER)
    )

    def items() -> Iterator[dict[str, object]]:
        for row in session.execute(query):
            yield full_row(row, version_sha.get(row.version_id, ""))

    if fmt == "json":
        return json_array(items())
    lines = CsvLines(FULL_COLUMNS)

    def csv_text() -> Iterator[str]:
        yield lines.header()
        yield from lines.rows(items())

    return csv_text()
