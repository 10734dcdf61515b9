"""The recipient's guide works: its exact commands, with the system's OpenSSL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from petition.config import PROJECT_ROOT
from petition.export import batch_key
from tests import system
from tests.export.conftest import Signatures, make_batch

GUIDE = PROJECT_ROOT / "docs" / "verifying-a-batch.md"


def guide_block(containing: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    [block] = [b for b in blocks if containing in b]
    return block


def run_block(block: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", block], cwd=folder, capture_output=True, text=True, check=False
    )


@pytest.fixture
def recipient(app: Flask, signatures: Signatures, out_dir: Path, tmp_path: Path) -> Path:
    """A folder as the recipient has it: two batches and the downloaded key."""
    system.require("openssl", "unzip")
    signatures.add(["ليلى حداد", "Omar"])
    make_batch(app, out_dir)
    signatures.add(["Sara", "=1+1"])
    make_batch(app, out_dir)
    folder = tmp_path / "recipient"
    folder.mkdir()
    for path in out_dir.iterdir():
        shutil.copy(path, folder / path.name)
    pem = app.test_client().get("/.well-known/petition-signing-key.pem").data
    (folder / "petition-signing-key.pem").write_bytes(pem)
    return folder


def test_fingerprint_command_gives_the_published_fingerprint(app: Flask, recipient: Path) -> None:
    result = run_block(guide_block("-outform DER"), recipient)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == batch_key.fingerprint(batch_key.app_key(app).public_key())


def test_guide_commands_verify_a_genuine_batch(recipient: Path) -> None:
    result = run_block(guide_block("pkeyutl"), recipient)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Signature Verified Successfully" in out
    assert "signatures.csv: OK" in out
    assert "delivery.pdf: OK" in out
    assert "FAILED" not in out
    # The comparisons the guide asks the reader to make by eye hold.
    manifest = json.loads((recipient / "batch-2" / "manifest.json").read_text())
    sums_entry = next(f for f in manifest["files"] if f["path"] == "SHA256SUMS")
    assert f"{sums_entry['sha256']}  SHA256SUMS" in out
    assert f"{manifest['previous_manifest_sha256']}  ../batch-1/manifest.json" in out
    listed = (recipient / "batch-2" / "SHA256SUMS").read_text()
    for name in re.findall(r"^(\S+)$", out, flags=re.M):
        if name not in ("manifest.json", "manifest.sig", "SHA256SUMS"):
            assert name in listed


def tamper(recipient: Path, member: str, change: bytes) -> None:
    path = recipient / "defend-the-people-of-daraa-batch-2.zip"
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members[member] = members[member].replace(*change.split(b"|"))
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_guide_commands_fail_on_an_edited_manifest(recipient: Path) -> None:
    tamper(recipient, "manifest.json", b'"count": 2|"count": 3')
    result = run_block(guide_block("pkeyutl"), recipient)
    assert result.returncode != 0
    assert "Signature Verified Successfully" not in result.stdout


def test_guide_commands_fail_on_a_changed_name(recipient: Path) -> None:
    tamper(recipient, "signatures.csv", b"Sara|Sarah")
    result = run_block(guide_block("pkeyutl"), recipient)
    assert result.returncode != 0
    assert "Signature Verified Successfully" in result.stdout
    assert "signatures.csv: FAILED" in result.stdout


def test_guide_script_gives_the_manifests_merkle_root(recipient: Path) -> None:
    assert run_block(guide_block("pkeyutl"), recipient).returncode == 0
    result = run_block(guide_block("root(leaves)"), recipient / "batch-2")
    assert result.returncode == 0, result.stderr
    merkle = json.loads((recipient / "batch-2" / "manifest.json").read_text())["merkle"]
    assert result.stdout.split() == [str(merkle["tree_size"]), merkle["root"]]
    assert merkle["tree_size"] == 2


def test_guide_script_shows_a_changed_name_as_another_root(recipient: Path) -> None:
    assert run_block(guide_block("pkeyutl"), recipient).returncode == 0
    csv_path = recipient / "batch-2" / "signatures.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"Sara", b"Sarah"))
    result = run_block(guide_block("root(leaves)"), recipient / "batch-2")
    merkle = json.loads((recipient / "batch-2" / "manifest.json").read_text())["merkle"]
    assert result.stdout.split()[0] == "2"
    assert result.stdout.split()[1] != merkle["root"]
