"""The signer's guide (docs/checking-a-receipt.md) works: its exact commands, run as written."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from flask import Flask

from petition.config import PROJECT_ROOT
from petition.signing.models import SignatureStatus
from tests import system
from tests.export.conftest import Signatures, make_batch
from tests.export.test_receipts import receipt_of

GUIDE = PROJECT_ROOT / "docs" / "checking-a-receipt.md"


def block(containing: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    [found] = [b for b in blocks if containing in b]
    return found


def run(text: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", text], cwd=folder, capture_output=True, text=True, check=False
    )


@pytest.fixture
def signer_folder(app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path) -> Path:
    system.require("openssl")
    signatures.add(["ليلى حداد", "Omar", '"Jo" Smith', "Sara", "Yusuf"])
    make_batch(app, out_dir)
    folder = tmp_path / "signer"
    folder.mkdir()
    pem = app.test_client().get("/.well-known/petition-signing-key.pem").data
    (folder / "petition-signing-key.pem").write_bytes(pem)
    return folder


def test_the_guides_script_and_openssl_accept_a_genuine_receipt(
    app: Flask, signer_folder: Path
) -> None:
    receipt = receipt_of(app, 3)
    (signer_folder / "receipt.json").write_text(json.dumps(receipt, ensure_ascii=False))
    result = run(block("receipt.json"), signer_folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"row 2 of 5 is in batch 1, root {receipt['merkle_root']}"
    result = run(block("pkeyutl"), signer_folder)
    assert "Signature Verified Successfully" in result.stdout


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("leaf", lambda v: v.replace("Jo", "Jon")),
        ("audit_path", lambda v: [v[0][:-1] + ("0" if v[0][-1] != "0" else "1"), *v[1:]]),
        ("leaf_index", lambda v: v + 1),
        ("sequence", lambda v: v + 1),
    ],
)
def test_the_guides_script_refuses_a_changed_receipt(
    app: Flask, signer_folder: Path, field: str, change: object
) -> None:
    receipt = receipt_of(app, 3)
    receipt[field] = change(receipt[field])  # type: ignore[operator]
    (signer_folder / "receipt.json").write_text(json.dumps(receipt, ensure_ascii=False))
    result = run(block("receipt.json"), signer_folder)
    assert result.returncode != 0
    assert "NOT VALID" in result.stderr


def test_openssl_refuses_a_manifest_edited_in_the_receipt(app: Flask, signer_folder: Path) -> None:
    import base64
    import hashlib

    receipt = receipt_of(app, 1)
    manifest = base64.b64decode(receipt["manifest"]).replace(b'"count": 5', b'"count": 6')
    receipt["manifest"] = base64.b64encode(manifest).decode()
    receipt["manifest_sha256"] = hashlib.sha256(manifest).hexdigest()
    (signer_folder / "receipt.json").write_text(json.dumps(receipt))
    assert run(block("receipt.json"), signer_folder).returncode == 0  # the path still holds
    result = run(block("pkeyutl"), signer_folder)
    assert "Signature Verified Successfully" not in result.stdout


def test_the_guides_script_accepts_a_withdrawn_signatures_receipt(
    app: Flask, signatures: Signatures, out_dir: Path, signer_folder: Path
) -> None:
    signatures.set_status([2], SignatureStatus.WITHDRAWN)
    receipt = receipt_of(app, 2)
    assert receipt["leaf"] is None
    (signer_folder / "receipt.json").write_text(json.dumps(receipt))
    result = run(block("receipt.json"), signer_folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("row 1 of 5 is in batch 1")


def test_the_script_is_about_thirty_lines() -> None:
    lines = block("receipt.json").strip().splitlines()
    assert len(lines) <= 32  # the heredoc's two lines besides the Python
