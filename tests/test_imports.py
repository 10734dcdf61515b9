"""What a web worker loads: the heavy modules only the commands or rare pages need stay out."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from petition.config import PROJECT_ROOT, Settings
from petition.export import batch_key
from petition.petitions.models import Petition

# Each costs megabytes in every worker (measured RSS on first import): Alembic through
# Flask-Migrate 11, WeasyPrint 23, Pillow (the share card) 2, markdown-it and nh3 (publishing)
# 2, python-frontmatter and PyYAML (reading a petition file) 1, cryptography's primitives
# (the batch signing key; redis only checks that the package exists) 7; the PDF parts
# with multiprocessing (building a batch) 0.6; the modern email API and the mail worker
# (the development mail page) 1 (bench.memory's worker RSS, side by side); argon2 with its
# cffi bindings and pyotp (organizers' login and second factor) 1.
NOT_IN_A_WEB_WORKER = [
    "argon2",
    "pyotp",
    "petition.export.pdf",
    "multiprocessing",
    "email.policy",
    "petition.mail.worker",
    "alembic",
    "flask_migrate",
    "weasyprint",
    "PIL",
    "markdown_it",
    "nh3",
    "frontmatter",
    "yaml",
    "cryptography.hazmat",
]


def test_creating_the_app_does_not_import_what_only_commands_and_rare_pages_use(
    tmp_path: Path,
) -> None:
    script = (
        "import json, sys\n"
        "from petition import create_app\n"
        "from petition.config import Settings\n"
        f"create_app(Settings(instance_path={str(tmp_path)!r}, "
        f"database_url={f'sqlite:///{tmp_path}/db.sqlite3'!r}))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    loaded = [
        name
        for name in json.loads(done.stdout)
        for heavy in NOT_IN_A_WEB_WORKER
        if name == heavy or name.startswith(f"{heavy}.")
    ]
    assert not loaded


def test_flask_db_binds_migrations_when_it_runs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["db", "-d", "migrations", "heads"])
    # Alembic prints past Click's runner, so the proof is the bound extension.
    assert result.exit_code == 0, result.output
    assert "migrate" in app.extensions


def test_pages_show_and_publish_the_signing_key_without_loading_cryptography(
    settings: Settings, petition: Petition, tmp_path: Path
) -> None:
    # Production with its key file: the petition page shows the fingerprint, the API
    # carries it, /.well-known publishes the key, and the worker never loads the 7 MB.
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    production = dataclasses.replace(
        settings,
        env="production",
        secret_key="s" * 40,
        mail_url="smtp://127.0.0.1:25",
        signing_key_file=str(key_file),
        testing=False,
    )
    script = (
        "import json, sys\n"
        "from petition import create_app\n"
        "from petition.config import Settings\n"
        f"app = create_app(Settings(**json.loads({json.dumps(dataclasses.asdict(production))!r})))\n"
        "client = app.test_client()\n"
        "get = lambda path: client.get(path, base_url='https://localhost')\n"
        f"page = get('/p/{petition.slug}')\n"
        f"api = get('/api/v1/petitions/{petition.slug}')\n"
        "pem = get('/.well-known/petition-signing-key.pem')\n"
        "print(json.dumps({'statuses': [page.status_code, api.status_code, pem.status_code],\n"
        "    'page': page.get_data(as_text=True), 'api': api.get_json(),\n"
        "    'pem': pem.get_data(as_text=True), 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    public = batch_key.public_key_of(key.public_key())
    assert seen["statuses"] == [200, 200, 200]
    assert public.fingerprint in seen["page"]
    assert seen["api"]["signing_key_fingerprint"] == public.fingerprint
    assert seen["pem"] == public.pem.decode()
    assert not [name for name in seen["modules"] if name.startswith("cryptography.hazmat")]


def test_the_child_process_reads_the_public_half_or_says_why_not(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    good = tmp_path / "key.pem"
    good.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert batch_key.public_key_in_child(good) == batch_key.public_key_of(key.public_key())
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    with pytest.raises(batch_key.SigningKeyError, match=f"cannot read signing key {bad}"):
        batch_key.public_key_in_child(bad)
