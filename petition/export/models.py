"""Export batches and the withdrawals they report."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from petition.db import Base, created_at, int_pk


class ExportBatch(Base):
    """One signed batch of a petition's signatures, as written and as delivered."""

    __tablename__ = "export_batches"
    __table_args__ = (
        # Two exports racing for the same number: the database lets one win.
        sa.UniqueConstraint("petition_id", "sequence"),
        sa.CheckConstraint("sequence >= 1", name="sequence_positive"),
        sa.CheckConstraint("signature_count >= 0", name="count_not_negative"),
    )

    id: Mapped[int_pk]
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"))
    sequence: Mapped[int]
    is_full_reexport: Mapped[bool] = mapped_column(default=False)
    # Signature sequence numbers of the first and last row in the batch (none if empty),
    # and the highest number the batch looked at: the next batch starts after it.
    first_sequence: Mapped[int | None]
    last_sequence: Mapped[int | None]
    through_sequence: Mapped[int]
    signature_count: Mapped[int]
    withdrawn_count: Mapped[int] = mapped_column(default=0)
    manifest_sha256: Mapped[str] = mapped_column(sa.String(64))
    previous_manifest_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    key_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(300))
    created_by: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[created_at]
    delivered_to: Mapped[str | None] = mapped_column(sa.String(300))
    delivered_by: Mapped[str | None] = mapped_column(sa.String(200))
    delivered_at: Mapped[dt.datetime | None]
    # The RFC 6962 root of signatures.csv's rows, in hex (none for batches made before).
    merkle_root: Mapped[str | None] = mapped_column(sa.String(64))
    # The delivery mail's cursor (petition.export.notices): the signers numbered up to
    # here have had theirs queued. Set at delivery; NULL for a batch not delivered (or
    # delivered before the mail existed, when nobody could have asked for it).
    notices_through: Mapped[int | None]

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None


class ExportRetraction(Base):
    """A signature sequence number that a batch accounted for as withdrawn or invalidated.

    Each number appears once per petition: a withdrawal is reported in the first batch
    after it (``is_listed``), and a signature already gone when its range was first
    exported is recorded unlisted so that no later batch reports it as news.
    """

    __tablename__ = "export_retractions"
    __table_args__ = (sa.UniqueConstraint("petition_id", "sequence"),)

    id: Mapped[int_pk]
    petition_id: Mapped[int] = mapped_column(sa.ForeignKey("petitions.id"))
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("export_batches.id"), index=True)
    sequence: Mapped[int]
    is_listed: Mapped[bool] = mapped_column(default=True)


class ExportBatchProof(Base):
    """What a receipt needs of a batch besides its rows: the signed manifest's exact bytes.

    Kept in the database (not only in the ZIP, which may live anywhere): a signer's
    receipt and the public batch list are made from it. It holds no signer data.
    """

    __tablename__ = "export_batch_proofs"

    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("export_batches.id"), primary_key=True)
    manifest_json: Mapped[bytes] = mapped_column(sa.LargeBinary)
    manifest_sig: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ExportBatchLeaves(Base):
    """One block of a batch's Merkle leaves: the leaf hashes of LEAF_BLOCK rows in file
    order, their signature numbers, and the block's subtree root.

    A block of a power-of-two size that starts at a multiple of it is a subtree of the
    batch's RFC 6962 tree, so a receipt's audit path is the path within one block
    followed by the path among the block roots: a few hundred kilobytes read for a
    batch of a million instead of all its leaves. Hashes only: no name can be read back.
    """

    __tablename__ = "export_batch_leaves"

    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("export_batches.id"), primary_key=True)
    block: Mapped[int] = mapped_column(primary_key=True)
    first_sequence: Mapped[int]
    last_sequence: Mapped[int]
    root: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    # Big-endian 8-byte signature numbers, and 32-byte leaf hashes, one per row.
    sequences: Mapped[bytes] = mapped_column(sa.LargeBinary)
    leaf_hashes: Mapped[bytes] = mapped_column(sa.LargeBinary)
