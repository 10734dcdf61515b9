"""What a web worker loads: the heavy modules only the commands or rare pages need stay out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flask import Flask

from petition.config import PROJECT_ROOT

# Each costs megabytes in every worker (measured RSS on first import): Alembic through
# Flask-Migrate 11, WeasyPrint 23, Pillow (the share card) 2, markdown-it and nh3 (publishing)
# 2, python-frontmatter and PyYAML (reading a petition file) 1, cryptography's primitives
# (the batch signing key; redis only checks that the package exists) 7.
NOT_IN_A_WEB_WORKER = [
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
