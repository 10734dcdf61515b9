"""A batch's manifest commits to the Merkle tree of its rows, and the verifier checks it."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from petition.export import batch_key
from petition.export.verify import verify_batch
from petition.export.zipfiles import manifest_dump
from tests.export.conftest import Signatures, make_batch, read_manifest
from tests.export.test_merkle import rfc_mth
from tests.export.test_service import TRICKY
from tests.export.test_verify import rewrite


def csv_rows(path: Path) -> list[bytes]:
    """The data rows of signatures.csv as bytes, split the plain way: names hold no line
    break (the sign form refuses control characters), so every record is one line."""
    with zipfile.ZipFile(path) as zf:
        raw = zf.read("signatures.csv")
    assert raw.endswith(b"\r\n")
    header, *rows = raw[:-2].split(b"\r\n")
    assert header.endswith(b",receipt_id")
    return rows


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_the_manifest_root_is_the_rfc_6962_root_of_the_rows(
    app: Flask, signatures: Signatures, out_dir: Path, count: int
) -> None:
    signatures.add((TRICKY * 2)[:count])
    path = make_batch(app, out_dir)
    rows = csv_rows(path)
    assert len(rows) == count
    assert read_manifest(path)["merkle"] == {
        "algorithm": "rfc6962-sha256",
        "tree_size": count,
        "root": rfc_mth(rows).hex(),
    }


def test_each_row_carries_its_signatures_random_receipt_id(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Layla", "Layla"])
    rows = csv_rows(make_batch(app, out_dir))
    ids = [row.rsplit(b",", 1)[1].decode() for row in rows]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    # Same name, same country, same text: the rows (so the leaves) still differ.
    assert ids[0] != ids[1]
    assert rows[0].split(b",")[1:3] == rows[1].split(b",")[1:3]


def test_a_batch_of_withdrawals_only_has_the_empty_tree(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    from petition.signing.models import SignatureStatus

    signatures.add(["Layla", "Omar"])
    make_batch(app, out_dir)
    signatures.set_status([1], SignatureStatus.WITHDRAWN)
    path = make_batch(app, out_dir)
    assert read_manifest(path)["merkle"] == {
        "algorithm": "rfc6962-sha256",
        "tree_size": 0,
        "root": hashlib.sha256(b"").hexdigest(),
    }
    assert verify_batch(path, public_key=batch_key.app_key(app).public_key()).is_valid


def resign(app: Flask, members: dict[str, bytes], manifest: dict[str, object]) -> None:
    body = manifest_dump(manifest)
    members["manifest.json"] = body
    members["manifest.sig"] = batch_key.app_key(app).sign(body)


def test_a_signed_manifest_with_the_wrong_root_is_named(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Layla", "Omar", "Sara"])
    path = make_batch(app, out_dir)

    def wrong_root(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members["manifest.json"])
        manifest["merkle"]["root"] = rfc_mth([b"1,Mallory"]).hex()
        resign(app, members, manifest)
        return members

    report = verify_batch(rewrite(path, wrong_root), public_key=batch_key.app_key(app).public_key())
    assert len(report.failures) == 1
    assert re.match(
        r"signatures\.csv: the Merkle tree of its 3 rows has root [0-9a-f]{64}, manifest says "
        r"3 rows with root [0-9a-f]{64}$",
        report.failures[0],
    )


def test_a_version_2_manifest_without_a_tree_is_named(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["Layla"])
    path = make_batch(app, out_dir)

    def no_tree(members: dict[str, bytes]) -> dict[str, bytes]:
        manifest = json.loads(members["manifest.json"])
        del manifest["merkle"]
        resign(app, members, manifest)
        return members

    report = verify_batch(rewrite(path, no_tree), public_key=batch_key.app_key(app).public_key())
    assert report.failures == ["manifest.json: no merkle entry (format version 2 must have one)"]


def test_a_batch_made_before_receipts_still_verifies(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    """Recipients hold format 1 batches (no receipt_id column, no tree): they still check."""
    signatures.add(["Layla", "Omar"])
    path = make_batch(app, out_dir)

    def as_version_1(members: dict[str, bytes]) -> dict[str, bytes]:
        lines = members["signatures.csv"].split(b"\r\n")
        members["signatures.csv"] = b"\r\n".join(line.rsplit(b",", 1)[0] for line in lines[:-1])
        members["signatures.csv"] += b"\r\n"
        manifest = json.loads(members["manifest.json"])
        del manifest["merkle"]
        manifest["format_version"] = 1
        for entry in manifest["files"]:
            if entry["path"] == "signatures.csv":
                entry["sha256"] = hashlib.sha256(members["signatures.csv"]).hexdigest()
                entry["size"] = len(members["signatures.csv"])
        members["SHA256SUMS"] = "".join(
            f"{e['sha256']}  {e['path']}\n" for e in manifest["files"] if e["path"] != "SHA256SUMS"
        ).encode()
        for entry in manifest["files"]:
            if entry["path"] == "SHA256SUMS":
                entry["sha256"] = hashlib.sha256(members["SHA256SUMS"]).hexdigest()
                entry["size"] = len(members["SHA256SUMS"])
        resign(app, members, manifest)
        return members

    report = verify_batch(
        rewrite(path, as_version_1), public_key=batch_key.app_key(app).public_key()
    )
    assert report.failures == []
    assert not any("Merkle" in line for line in report.checked)


def test_verify_reports_the_root(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    signatures.add(["Layla", "Omar"])
    path = make_batch(app, out_dir)
    report = verify_batch(path, public_key=batch_key.app_key(app).public_key())
    root = rfc_mth(csv_rows(path)).hex()
    assert f"signatures.csv: Merkle root {root} of 2 rows, as the manifest says" in report.checked
