"""The recipient's guide as a page of the service (/verify), in English and Arabic."""

from __future__ import annotations

import os
import re
from http import HTTPStatus
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from petition.config import PROJECT_ROOT
from petition.export import batch_key, guide

DOCS = PROJECT_ROOT / "docs"


def commands(path: Path) -> list[str]:
    return re.findall(r"```(?:sh)?\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_verify_shows_the_guide_with_this_services_key_and_address(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/verify?lang=en")
    assert response.status_code == HTTPStatus.OK
    html = response.get_data(as_text=True)
    assert "<h1>Verifying a batch of signatures</h1>" in html
    assert batch_key.fingerprint(batch_key.app_key(app).public_key()) in html
    assert 'href="/.well-known/petition-signing-key.pem"' in html
    # The guide's placeholder address is this service's own (settings.base_url).
    assert "<code>http://localhost/.well-known/petition-signing-key.pem</code>" in html
    assert "&lt;the service" not in html
    assert "<th>file</th>" in html  # the "What is in a batch" table is a table
    assert "openssl pkeyutl -verify -pubin" in html


def test_verify_in_arabic_is_the_arabic_guide_right_to_left(client: FlaskClient) -> None:
    html = client.get("/verify?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "<h1>التحقق من دفعة توقيعات</h1>" in html
    assert "<code>http://localhost/.well-known/petition-signing-key.pem</code>" in html
    assert "<th>الملف</th>" in html
    assert "not translated" not in html


def test_the_arabic_guide_runs_only_the_english_guides_commands() -> None:
    # tests/export/test_recipient_guide.py runs the English guide's commands; the
    # translation may lag behind it, but never tells a recipient to run something else.
    english = commands(DOCS / "verifying-a-batch.md")
    arabic = commands(DOCS / "verifying-a-batch.ar.md")
    assert arabic
    assert [block for block in arabic if block not in english] == []


def test_the_page_follows_the_guide_file(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "verifying-a-batch.md").write_text("# Checking\n\nFirst words.\n")
    monkeypatch.setattr(guide, "GUIDE_FOLDER", tmp_path)
    assert "First words." in client.get("/verify?lang=en").get_data(as_text=True)
    path = tmp_path / "verifying-a-batch.md"
    path.write_text("# Checking\n\nA receipt section added later.\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert "A receipt section added later." in client.get("/verify").get_data(as_text=True)


def test_a_language_without_its_guide_gets_the_english_one_and_is_told(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "verifying-a-batch.md").write_text("# Checking\n\nIn English.\n")
    monkeypatch.setattr(guide, "GUIDE_FOLDER", tmp_path)
    html = client.get("/verify?lang=ar").get_data(as_text=True)
    assert '<article class="guide" lang="en" dir="ltr">' in html
    assert "In English." in html
    assert "هذا الدليل" in html  # the note, in the reader's language


def test_raw_html_in_the_guide_is_escaped(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "verifying-a-batch.md").write_text("# G\n\n<script>alert(1)</script>\n")
    monkeypatch.setattr(guide, "GUIDE_FOLDER", tmp_path)
    html = client.get("/verify").get_data(as_text=True)
    assert "<script>alert" not in html


def test_an_installation_without_the_guide_answers_404(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guide, "GUIDE_FOLDER", tmp_path)
    assert client.get("/verify").status_code == HTTPStatus.NOT_FOUND
