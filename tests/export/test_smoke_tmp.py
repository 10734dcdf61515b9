from pathlib import Path
from flask import Flask
from tests.export.conftest import Signatures

def test_smoke(app: Flask, signatures: Signatures, out_dir: Path) -> None:
    signatures.add(["ليلى حداد", "=HYPERLINK(\"x\")", 'Jo "Quote", Smith\nnext', "😀 Emoji"])
    r = app.test_cli_runner().invoke(args=["petition", "export", "--petition", "defend-the-people-of-daraa", "--out", str(out_dir)])
    print(r.output)
    assert r.exit_code == 0, r.output
    import shutil; shutil.copy(next(out_dir.glob("*.zip")), "/tmp/smoke.zip")
    r = app.test_cli_runner().invoke(args=["petition", "verify", str(next(out_dir.glob("*.zip")))])
    print(r.output)
    assert r.exit_code == 0
