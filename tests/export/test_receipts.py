"""A signer's inclusion receipt verifies, and fails after any change to it."""

from __future__ import annotations

import base64
import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from petition.db import session_scope
from petition.export import batch_key, leaves, receipts
from petition.petitions.models import Petition
from petition.signing.models import SignatureStatus
from tests.export.conftest import Signatures, make_batch
from tests.export.test_merkle import rfc_mth

SLUG = "defend-the-people-of-daraa"


def receipt_of(app: Flask, sequence: int, batch: int | None = None) -> dict[str, Any]:
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
        return receipts.make_receipt(
            session, petition=petition, sequence=sequence, batch_sequence=batch
        )


def check(app: Flask, receipt: dict[str, Any]) -> receipts.ReceiptReport:
    return receipts.verify_receipt(receipt, public_key=batch_key.app_key(app).public_key())


def csv_rows(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as zf:
        return zf.read("signatures.csv")[:-2].split(b"\r\n")[1:]


def flip_char(text: str, i: int) -> str:
    return text[:i] + chr(ord(text[i]) ^ 1) + text[i + 1 :]


def flip_hex(value: str, i: int) -> str:
    raw = bytearray(bytes.fromhex(value))
    raw[i] ^= 0x01
    return raw.hex()


def assert_tampering_fails(app: Flask, receipt: dict[str, Any], *, every_byte: bool) -> None:
    leaf = receipt["leaf"]
    for i in range(len(leaf)) if every_byte else (0, len(leaf) // 2, len(leaf) - 1):
        changed = receipt | {"leaf": flip_char(leaf, i)}
        assert not check(app, changed).is_valid, f"leaf character {i}"
    for n, value in enumerate(receipt["audit_path"]):
        for i in range(32) if every_byte else (0, 31):
            path = list(receipt["audit_path"])
            path[n] = flip_hex(value, i)
            assert not check(app, receipt | {"audit_path": path}).is_valid, (n, i)
    manifest = base64.b64decode(receipt["manifest"])
    for i in range(len(manifest)) if every_byte else range(0, len(manifest), 97):
        raw = bytearray(manifest)
        raw[i] ^= 0x01
        changed = receipt | {"manifest": base64.b64encode(bytes(raw)).decode()}
        assert not check(app, changed).is_valid, f"manifest byte {i}"
    for key in ("leaf_index", "tree_size", "sequence", "batch"):
        assert not check(app, receipt | {key: receipt[key] + 1}).is_valid, key


@pytest.mark.parametrize("count", [1, 2, 3, 7, 1000])
def test_receipts_of_the_first_middle_and_last_signature_verify(
    app: Flask, signatures: Signatures, out_dir: Path, count: int
) -> None:
    signatures.add([f"Signer {n}" for n in range(1, count + 1)])
    path = make_batch(app, out_dir)
    rows = csv_rows(path)
    with zipfile.ZipFile(path) as zf:
        manifest_bytes = zf.read("manifest.json")
    for sequence in sorted({1, (count + 1) // 2, count}):
        receipt = receipt_of(app, sequence)
        report = check(app, receipt)
        assert report.failures == [], report.failures
        assert receipt["leaf"].encode() == rows[sequence - 1]
        assert receipt["leaf_index"] == sequence - 1
        assert receipt["tree_size"] == count
        assert base64.b64decode(receipt["manifest"]) == manifest_bytes
        assert receipt["merkle_root"] == rfc_mth(rows).hex()
        assert_tampering_fails(app, receipt, every_byte=count <= 3)


def test_receipts_across_several_leaf_blocks(
    app: Flask, signatures: Signatures, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of 4 leaves instead of 4,096: the path through the block roots is RFC 6962's."""
    monkeypatch.setattr(leaves, "LEAF_BLOCK", 4)
    signatures.add([f"Signer {n}" for n in range(1, 14)])
    rows = csv_rows(make_batch(app, out_dir))
    for sequence in range(1, 14):
        receipt = receipt_of(app, sequence)
        assert check(app, receipt).failures == [], sequence
        assert receipt["leaf_index"] == sequence - 1
    assert receipt["merkle_root"] == rfc_mth(rows).hex()


def test_a_receipt_names_the_delivered_batch_and_its_recipient(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    from petition.export import delivery

    signatures.add(["Layla", "Omar"])
    make_batch(app, out_dir)
    make_batch(app, out_dir, full=True)  # a full re-export holds them again
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        delivery.mark_delivered(
            session, petition=petition, sequence=2, to="Governor's office", actor="cli:test"
        )
    receipt = receipt_of(app, 1)
    assert receipt["batch"] == 2
    assert receipt["delivered_to"] == "Governor's office"
    assert receipt["delivered_at"]
    assert receipt_of(app, 1, batch=1)["batch"] == 1
    assert check(app, receipt_of(app, 1, batch=1)).is_valid


def test_a_withdrawn_signatures_receipt_says_so_without_the_erased_name(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Layla Haddad", "Omar"])
    rows = csv_rows(make_batch(app, out_dir))
    signatures.set_status([1], SignatureStatus.WITHDRAWN)
    make_batch(app, out_dir)
    receipt = receipt_of(app, 1)
    assert receipt["leaf"] is None
    assert receipt["status"] == "withdrawn"
    assert receipt["withdrawn_in_batch"] == 2
    assert "Layla" not in json.dumps(receipt)
    report = check(app, receipt)
    assert report.failures == []
    assert "leaf: erased since delivery (withdrawn); its hash is proven" in report.checked
    assert "status: withdrawn since delivery, listed in batch 2's withdrawn.csv" in report.checked
    # The hash is the delivered row's: the recipient's copy of the row matches it.
    from petition.export import merkle

    assert merkle.leaf_hash(rows[0]).hex() == receipt["leaf_hash"]


def test_no_receipt_before_a_batch_or_for_an_unknown_number(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Layla"])
    with pytest.raises(receipts.ReceiptError, match="not in any batch yet"):
        receipt_of(app, 1)
    with pytest.raises(receipts.ReceiptError, match="no signature number 9"):
        receipt_of(app, 9)
    make_batch(app, out_dir)
    with pytest.raises(receipts.ReceiptError, match="not in batch 2"):
        receipt_of(app, 1, batch=2)


def test_a_receipt_checked_with_another_key_fails(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Layla"])
    make_batch(app, out_dir)
    other = Ed25519PrivateKey.generate().public_key()
    report = receipts.verify_receipt(receipt_of(app, 1), public_key=other)
    assert any("not signed by key" in f for f in report.failures)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r | {"audit_path": "nope"},
        lambda r: r | {"manifest": "!!"},
        lambda r: r | {"leaf_index": "0"},
        lambda r: {k: v for k, v in r.items() if k != "leaf_hash"},
        lambda r: [],
    ],
)
def test_a_malformed_receipt_is_named_not_raised(
    app: Flask, signatures: Signatures, out_dir: Path, change: Any
) -> None:
    signatures.add(["Layla"])
    make_batch(app, out_dir)
    assert not check(app, change(copy.deepcopy(receipt_of(app, 1)))).is_valid


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["petition", *args])


def test_receipt_and_verify_receipt_commands(
    app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path
) -> None:
    signatures.add(["ليلى حداد", "Omar", "Sara"])
    make_batch(app, out_dir)
    result = run(app, "receipt", SLUG, "2")
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.output)
    assert receipt["sequence"] == 2
    file = tmp_path / "receipt.json"
    file.write_text(result.output)
    pem = tmp_path / "key.pem"
    pem.write_bytes(app.test_client().get("/.well-known/petition-signing-key.pem").data)

    result = run(app, "verify-receipt", str(file), "--public-key", str(pem))
    assert result.exit_code == 0, result.output
    assert "ok    audit path: row 1 of 3 is in the tree with root" in result.output
    assert result.output.rstrip().endswith(": valid")

    receipt["leaf"] = receipt["leaf"].replace("Omar", "Omer")
    file.write_text(json.dumps(receipt))
    result = run(app, "verify-receipt", str(file))
    assert result.exit_code == 1
    assert "FAIL  leaf: its hash is not leaf_hash" in result.output

    file.write_text("not json")
    result = run(app, "verify-receipt", str(file))
    assert result.exit_code != 0
    assert "not JSON" in result.output

    result = run(app, "receipt", SLUG, "4")
    assert result.exit_code != 0
    assert "no signature number 4" in result.output
