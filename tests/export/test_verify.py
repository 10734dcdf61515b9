"""Every kind of tampering with a batch is detected and named."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from petition.export import batch_key
from petition.export.verify import Report, verify_batch
from tests.export.conftest import Signatures, make_batch

NAMES = ["ليلى حداد", "Omar", "Sara", "Yusuf"]


@pytest.fixture
def batch(app: Flask, signatures: Signatures, out_dir: Path) -> Path:
    signatures.add(NAMES)
    return make_batch(app, out_dir)


def check(app: Flask, path: Path, previous: Path | None = None) -> Report:
    return verify_batch(path, public_key=batch_key.app_key(app).public_key(), previous=previous)


def rewrite(path: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """A copy of the ZIP with its members changed by ``change`` (name -> bytes)."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members = change(members)
    out = path.with_name("tampered-" + path.name)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def failures(report: Report) -> str:
    assert not report.is_valid
    return "\n".join(report.failures)


def test_an_untouched_batch_verifies(app: Flask, batch: Path) -> None:
    report = check(app, batch)
    assert report.failures == []
    assert any("valid Ed25519 signature" in line for line in report.checked)
    assert any("4 rows in signature order" in line for line in report.checked)


@pytest.mark.parametrize(
    "member", ["signatures.csv", "withdrawn.csv", "delivery.pdf", "SHA256SUMS", "petition"]
)
def test_a_changed_byte_in_any_file_is_named(app: Flask, batch: Path, member: str) -> None:
    def flip(members: dict[str, bytes]) -> dict[str, bytes]:
        name = next(n for n in members if n.startswith(member))
        data = bytearray(members[name])
        data[len(data) // 2] ^= 0x01
        members[name] = bytes(data)
        return members

    text = failures(check(app, rewrite(batch, flip)))
    assert f"{member}" in text
    assert "changed" in text


def test_a_deleted_row_is_named(app: Flask, batch: Path) -> None:
    def delete(members: dict[str, bytes]) -> dict[str, bytes]:
        lines = members["signatures.csv"].split(b"\r\n")
        del lines[2]
        members["signatures.csv"] = b"\r\n".join(lines)
        return members

    text = failures(check(app, rewrite(batch, delete)))
    assert "signatures.csv: changed" in text
    assert "signatures.csv: 3 rows, manifest says 4 (rows deleted or added)" in text


def test_reordered_rows_are_named(app: Flask, batch: Path) -> None:
    def swap(members: dict[str, bytes]) -> dict[str, bytes]:
        lines = members["signatures.csv"].split(b"\r\n")
        lines[1], lines[2] = lines[2], lines[1]
        members["signatures.csv"] = b"\r\n".join(lines)
        return members

    text = failures(check(app, rewrite(batch, swap)))
    assert "signatures.csv: changed" in text
    assert "signature 1 after 2 (rows reordered or repeated)" in text


def test_an_added_file_is_named(app: Flask, batch: Path) -> None:
    text = failures(check(app, rewrite(batch, lambda m: m | {"extra.csv": b"1,Mallory\r\n"})))
    assert "extra.csv: in the ZIP but not listed in the manifest (added)" in text


@pytest.mark.parametrize("member", ["delivery.pdf", "signatures.csv", "manifest.sig"])
def test_a_removed_file_is_named(app: Flask, batch: Path, member: str) -> None:
    def remove(members: dict[str, bytes]) -> dict[str, bytes]:
        del members[member]
        return members

    text = failures(check(app, rewrite(batch, remove)))
    assert f"{member}: " in text
    assert "missing" in text


def test_an_edited_manifest_is_named(app: Flask, batch: Path) -> None:
    def edit(members: dict[str, bytes]) -> dict[str, bytes]:
        members["manifest.json"] = members["manifest.json"].replace(b'"count": 4', b'"count": 5')
        return members

    text = failures(check(app, rewrite(batch, edit)))
    assert "manifest.sig: not a valid signature of manifest.json" in text


def test_a_batch_signed_with_another_key_is_named(app: Flask, batch: Path) -> None:
    other = Ed25519PrivateKey.generate()

    def resign(members: dict[str, bytes]) -> dict[str, bytes]:
        members["manifest.sig"] = other.sign(members["manifest.json"])
        return members

    text = failures(check(app, rewrite(batch, resign)))
    assert "manifest.sig: not a valid signature" in text
    # Checked with the other key, the signature holds but the manifest names our key.
    report = verify_batch(batch, public_key=other.public_key())
    assert "names signing key" in failures(report)


def test_a_chain_verifies_and_a_skipped_batch_is_named(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    first = make_batch(app, out_dir)
    signatures.add(["B"])
    second = make_batch(app, out_dir)
    signatures.add(["C"])
    third = make_batch(app, out_dir)

    assert check(app, second, previous=first).failures == []
    assert check(app, third, previous=second).failures == []
    text = failures(check(app, third, previous=first))
    assert "this is batch 3 but the previous batch given is batch 1: batch 2 is missing" in text
    assert "chain: this batch follows a manifest with SHA-256" in text


def test_a_substituted_previous_batch_is_named(
    app: Flask, signatures: Signatures, out_dir: Path
) -> None:
    signatures.add(["A"])
    first = make_batch(app, out_dir)
    signatures.add(["B"])
    second = make_batch(app, out_dir)
    # Batch 1 with an edited manifest given as the previous batch.
    forged = rewrite(
        first, lambda m: m | {"manifest.json": m["manifest.json"].replace(b'Z"', b'Z "')}
    )
    text = failures(check(app, second, previous=forged))
    assert "previous batch" in text
    assert "does not verify" in text


def test_not_a_zip_is_named(app: Flask, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert "not a readable ZIP" in failures(check(app, junk))


def test_a_forged_manifest_of_any_shape_is_named_not_a_crash(app: Flask, batch: Path) -> None:
    other = Ed25519PrivateKey.generate()
    forged = (
        b'{"format": "petition-export-batch", "format_version": 1, "files": [{"size": 1}],'
        b' "batch": "x", "signing_key": {}}'
    )
    path = rewrite(
        batch, lambda m: m | {"manifest.json": forged, "manifest.sig": other.sign(forged)}
    )
    text = failures(check(app, path))
    assert "manifest.json: malformed" in text


def test_rows_checked_a_chunk_at_a_time_name_the_same_row_as_one_at_a_time() -> None:
    """The verifier's fast path (plain chunks split at commas) hands a chunk with a
    problem to the csv module, so the row numbers named are those of the whole file."""
    from petition.export.verify import _RowCheck

    text = "a" * 64

    def record(n: int, name: str = "Layla") -> bytes:
        return f"{n},{name},SY,,2026-01-01T00:00:01Z,{text},{'0' * 32}".encode()

    check = _RowCheck(7, {text})
    check.check([record(n) for n in range(1, 1001)])  # plain: the fast path
    check.check([record(1001, '"Jo ""Q"", Smith"'), record(1002)])  # quoted: csv module
    assert (check.count, check.first, check.last, check.problems) == (1002, 1, 1002, [])
    check.check([record(1003), record(1005), record(1004), record(1006) + b",extra"])
    assert check.problems == [
        "row 1006: signature 1004 after 1005 (rows reordered or repeated)",
        "row 1007 has 8 columns",
    ]
    assert (check.count, check.last) == (1006, 1006)


def test_a_plain_chunk_with_a_short_row_and_a_long_row_names_both() -> None:
    """The fast path counts the commas of each record, not of the chunk: here a row short
    of a column and one with a column too many add up to the right number of cells, and
    every seventh of them is still a rising number or a text the ZIP holds."""
    from petition.export.verify import _RowCheck

    text, receipt_id = "a" * 64, "0" * 32
    rows = [
        f"1,Layla,SY,,2026-01-01T00:00:01Z,{text},{receipt_id}",
        f"2,Omar,SY,2026-01-01T00:00:02Z,{text},{text}",  # no postcode cell
        f"3,3,SY,,2026-01-01T00:00:03Z,{text},{text},{receipt_id}",  # one cell too many
        f"4,Sara,SY,,2026-01-01T00:00:04Z,{text},{receipt_id}",
    ]
    check = _RowCheck(7, {text})
    check.check([row.encode() for row in rows])
    assert check.problems == ["row 3 has 6 columns", "row 4 has 8 columns"]
    assert (check.count, check.first, check.last) == (4, 1, 4)


def test_a_plain_chunk_naming_a_text_the_zip_does_not_hold_is_named() -> None:
    from petition.export.verify import _RowCheck

    text, other = "a" * 64, "b" * 64
    rows = [f"{n},Layla,SY,,2026-01-01T00:00:01Z,{text},{'0' * 32}".encode() for n in (1, 2)]
    rows.append(f"3,Layla,SY,,2026-01-01T00:00:01Z,{other},{'0' * 32}".encode())
    check = _RowCheck(7, {text})
    check.check(rows)
    assert check.problems == [f"row 4 names text {other}, which the ZIP does not hold"]
