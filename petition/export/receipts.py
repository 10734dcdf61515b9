"""Inclusion receipts: a signer's proof that their row is in a batch, and its check.

A receipt is plain JSON that anyone can check offline with the service's public key:
the row (``leaf``), its place in the batch's RFC 6962 tree (``leaf_index``,
``tree_size``), the audit path, and the batch's signed manifest (its exact bytes and
signature, base64), which commits to the tree's root. It is made from the database
(:class:`~petition.export.models.ExportBatchLeaves`, the manifest's bytes and the
signature's row), so it does not need the batch's ZIP.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from petition.export import batch_key, leaves, merkle
from petition.export.models import (
    ExportBatch,
    ExportBatchLeaves,
    ExportBatchProof,
    ExportRetraction,
)
from petition.export.serializers import BATCH_COLUMNS, CsvLines, batch_row
from petition.petitions.models import Petition, PetitionVersion
from petition.signing.models import Signature, SignatureStatus

if TYPE_CHECKING:
    # Only checking a receipt needs cryptography; a web worker serving receipts never
    # loads it (tests/test_imports.py).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

RECEIPT_FORMAT = "petition-inclusion-receipt"
RECEIPT_VERSION = 1


class ReceiptError(Exception):
    """No receipt can be made; the message says why."""


def _leaf_text(signature: Signature, text_sha256: str) -> str:
    """The signature's row as the batch wrote it (without CRLF), from its stored values."""
    values = batch_row(
        sequence=signature.sequence or 0,
        name=signature.name,
        country=signature.country,
        postcode=signature.postcode,
        verified_at=signature.verified_at,
        text_sha256=text_sha256,
        receipt_id=signature.receipt_id,
    )
    return CsvLines(BATCH_COLUMNS).row(values)[:-2]


def _block_of(session: Session, batch: ExportBatch, sequence: int) -> ExportBatchLeaves | None:
    return session.scalars(
        sa.select(ExportBatchLeaves).where(
            ExportBatchLeaves.batch_id == batch.id,
            ExportBatchLeaves.first_sequence <= sequence,
            ExportBatchLeaves.last_sequence >= sequence,
        )
    ).first()


@dataclasses.dataclass(frozen=True)
class Placed:
    """Where a signature's row stands in a batch."""

    batch: ExportBatch
    block: ExportBatchLeaves
    offset: int  # within the block


def find_batch(
    session: Session, *, petition: Petition, sequence: int, batch_sequence: int | None = None
) -> Placed | None:
    """The batch holding signature ``sequence``: the one asked for, or else the first
    delivered one, or else the first. None when no batch with a tree holds it."""
    query = (
        sa.select(ExportBatch)
        .where(
            ExportBatch.petition_id == petition.id,
            ExportBatch.first_sequence <= sequence,
            ExportBatch.last_sequence >= sequence,
            ExportBatch.merkle_root.is_not(None),
        )
        .order_by(ExportBatch.sequence)
    )
    if batch_sequence is not None:
        query = query.where(ExportBatch.sequence == batch_sequence)
    found: list[Placed] = []
    for batch in session.scalars(query):
        block = _block_of(session, batch, sequence)
        if block is None:
            continue  # gone before this batch was made: in its range, not in its rows
        numbers = leaves.unpack_sequences(block.sequences)
        offset = bisect.bisect_left(numbers, sequence)
        if offset < len(numbers) and numbers[offset] == sequence:
            found.append(Placed(batch, block, offset))
    delivered = [p for p in found if p.batch.is_delivered]
    chosen = delivered or found
    return chosen[0] if chosen else None


def _withdrawal_batch(session: Session, petition: Petition, sequence: int) -> int | None:
    return session.scalar(
        sa.select(ExportBatch.sequence)
        .join(ExportRetraction, ExportRetraction.batch_id == ExportBatch.id)
        .where(
            ExportRetraction.petition_id == petition.id,
            ExportRetraction.sequence == sequence,
            ExportRetraction.is_listed,
        )
    )


def make_receipt(
    session: Session, *, petition: Petition, sequence: int, batch_sequence: int | None = None
) -> dict[str, Any]:
    """The receipt of signature ``sequence`` of ``petition`` (see the module docstring).

    A withdrawn or invalidated signature's receipt says so; if the signer withdrew, their
    name was erased, so the receipt carries the row's hash (still proven in the tree)
    and ``leaf`` is null.

    Raises :class:`ReceiptError`.
    """
    signature = session.scalars(
        sa.select(Signature).where(
            Signature.petition_id == petition.id, Signature.sequence == sequence
        )
    ).one_or_none()
    if signature is None:
        raise ReceiptError(f"{petition.slug} has no signature number {sequence}")
    placed = find_batch(
        session, petition=petition, sequence=sequence, batch_sequence=batch_sequence
    )
    if placed is None:
        where = f"batch {batch_sequence}" if batch_sequence is not None else "any batch yet"
        raise ReceiptError(f"{petition.slug}: signature {sequence} is not in {where}")
    batch, block = placed.batch, placed.block
    proof = session.get(ExportBatchProof, batch.id)
    if proof is None:
        raise ReceiptError(f"{petition.slug} batch {batch.sequence} has no stored manifest")

    hashes = leaves.split_hashes(block.leaf_hashes)
    leaf_hash = hashes[placed.offset]
    text_sha256 = session.scalar(
        sa.select(PetitionVersion.sha256).where(PetitionVersion.id == signature.version_id)
    )
    stored_row = _leaf_text(signature, text_sha256 or "")
    leaf: str | None = stored_row
    if merkle.leaf_hash(stored_row.encode()) != leaf_hash:
        # Erased at withdrawal, or corrected since the batch: the delivered row is not
        # the stored one any more. Its hash still proves the delivered row.
        leaf = None

    roots = list(
        session.scalars(
            sa.select(ExportBatchLeaves.root)
            .where(ExportBatchLeaves.batch_id == batch.id)
            .order_by(ExportBatchLeaves.block)
        )
    )
    path = merkle.audit_path(hashes, placed.offset) + merkle.audit_path(roots, block.block)
    status = str(signature.status)
    receipt: dict[str, Any] = {
        "format": RECEIPT_FORMAT,
        "format_version": RECEIPT_VERSION,
        "petition": petition.slug,
        "batch": batch.sequence,
        "sequence": sequence,
        "leaf": leaf,
        "leaf_hash": leaf_hash.hex(),
        "leaf_index": block.block * leaves.LEAF_BLOCK + placed.offset,
        "tree_size": batch.signature_count,
        "audit_path": [h.hex() for h in path],
        "merkle_root": batch.merkle_root,
        "manifest_sha256": batch.manifest_sha256,
        "manifest": base64.b64encode(proof.manifest_json).decode(),
        "manifest_sig": base64.b64encode(proof.manifest_sig).decode(),
        "delivered_to": batch.delivered_to,
        "delivered_at": batch.delivered_at.isoformat() if batch.delivered_at else None,
        "status": status,
        "withdrawn_in_batch": None,
    }
    if signature.status in (SignatureStatus.WITHDRAWN, SignatureStatus.INVALIDATED):
        receipt["withdrawn_in_batch"] = _withdrawal_batch(session, petition, sequence)
    return receipt


def delivered_batch(session: Session, *, petition: Petition, sequence: int | None) -> Placed | None:
    """The first delivered batch holding signature ``sequence`` (None if none yet)."""
    if sequence is None:
        return None
    placed = find_batch(session, petition=petition, sequence=sequence)
    return placed if placed is not None and placed.batch.is_delivered else None


def signers_receipt(session: Session, *, petition: Petition, token: str) -> dict[str, Any] | None:
    """The receipt a signer downloads through the withdraw link they were mailed, once a
    delivered batch holds the signature; after a withdrawal too (the receipt then says
    withdrawn: the row was delivered, and the signer may want to show it)."""
    from petition.signing import yours

    own = yours.own_signature(session, petition=petition, token=token)
    if own is None:
        return None
    placed = delivered_batch(session, petition=petition, sequence=own.sequence)
    if placed is None or own.sequence is None:
        return None
    return make_receipt(
        session, petition=petition, sequence=own.sequence, batch_sequence=placed.batch.sequence
    )


def dump(receipt: dict[str, Any]) -> str:
    return json.dumps(receipt, indent=2, ensure_ascii=False) + "\n"


@dataclasses.dataclass
class ReceiptReport:
    checked: list[str] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.failures


def _hex(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a hex string")
    return binascii.unhexlify(value)


def verify_receipt(receipt: Any, *, public_key: Ed25519PublicKey) -> ReceiptReport:
    """Check a receipt against ``public_key``; never raises for a bad receipt."""
    report = ReceiptReport()
    if not isinstance(receipt, dict) or receipt.get("format") != RECEIPT_FORMAT:
        report.failures.append(f"not a {RECEIPT_FORMAT}")
        return report
    try:
        _verify(receipt, public_key, report)
    except (KeyError, TypeError, ValueError, binascii.Error, AttributeError) as exc:
        report.failures.append(f"malformed receipt ({exc.__class__.__name__}: {exc})")
    return report


def _verify(receipt: dict[str, Any], key: Ed25519PublicKey, report: ReceiptReport) -> None:
    from cryptography.exceptions import InvalidSignature

    manifest_bytes = base64.b64decode(receipt["manifest"], validate=True)
    signature = base64.b64decode(receipt["manifest_sig"], validate=True)
    try:
        key.verify(signature, manifest_bytes)
        report.checked.append(
            f"manifest: valid Ed25519 signature by key {batch_key.fingerprint(key)}"
        )
    except InvalidSignature:
        report.failures.append(
            f"manifest: not signed by key {batch_key.fingerprint(key)} (edited, or another key)"
        )
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    if digest != receipt["manifest_sha256"]:
        report.failures.append(
            f"manifest: SHA-256 {digest}, receipt says {receipt['manifest_sha256']}"
        )
    manifest = json.loads(manifest_bytes)
    facts = {
        "petition": manifest["petition"]["slug"],
        "batch": manifest["batch"]["sequence"],
        "tree_size": manifest["merkle"]["tree_size"],
    }
    for name, value in facts.items():
        if receipt[name] != value:
            report.failures.append(f"{name}: receipt says {receipt[name]!r}, manifest {value!r}")
    root = _hex(manifest["merkle"]["root"])
    leaf_hash = _hex(receipt["leaf_hash"])
    leaf = receipt["leaf"]
    if leaf is not None:
        if merkle.leaf_hash(leaf.encode()) != leaf_hash:
            report.failures.append("leaf: its hash is not leaf_hash")
        elif leaf.split(",", 1)[0] != str(receipt["sequence"]):
            report.failures.append(f"leaf: is not the row of signature {receipt['sequence']}")
        else:
            report.checked.append(f"leaf: the row of signature {receipt['sequence']}")
    path = [_hex(h) for h in receipt["audit_path"]]
    index = receipt["leaf_index"]
    if not isinstance(index, int):
        raise TypeError("leaf_index is not a number")
    if merkle.verify_inclusion(
        leaf_hash_=leaf_hash, index=index, tree_size=facts["tree_size"], path=path, root=root
    ):
        report.checked.append(
            f"audit path: row {index} of {facts['tree_size']} is in the tree with root "
            f"{root.hex()}, which the signed manifest of batch {facts['batch']} states"
        )
    else:
        report.failures.append("audit path: does not lead to the manifest's Merkle root")
    if leaf is None:
        report.checked.append("leaf: erased since delivery (withdrawn); its hash is proven")
    if receipt.get("status") in ("withdrawn", "invalidated"):
        later = receipt.get("withdrawn_in_batch")
        report.checked.append(
            f"status: {receipt['status']} since delivery"
            + (f", listed in batch {later}'s withdrawn.csv" if later else "")
        )
