"""A petition's text in the reader's language: a translation tied to one version."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from petition.db import session_scope
from petition.mail.models import OutboxMessage
from petition.petitions import service
from petition.petitions.models import Petition, PetitionTranslation
from petition.signing.models import Signature
from tests.helpers import DARAA
from tests.helpers.forms import sign_form

SLUG = "defend-the-people-of-daraa"
ARABIC = """---
slug: defend-the-people-of-daraa
lang: ar
translates: 1
title: دافعوا عن أهل درعا
---

انطلقت الثورة السورية من درعا البلد.
"""


def write(tmp_path: Path, text: str, name: str = "daraa.ar.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_takes_petition_and_translation_in_any_order(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(args=["petition", "import", str(write(tmp_path, ARABIC)), str(DARAA)])
    assert result.exit_code == 0, result.output
    assert f"{SLUG}: text version 1 translated to ar" in result.output
    with app.app_context(), session_scope() as session:
        [translation] = session.scalars(sa.select(PetitionTranslation)).all()
        assert translation.title == "دافعوا عن أهل درعا"
        assert translation.version.number == 1
        assert translation.source_sha256 == translation.version.sha256
        assert "<p>انطلقت الثورة السورية من درعا البلد.</p>" in translation.body_html

    # Importing again corrects the translation in place.
    corrected = ARABIC.replace("درعا البلد", "درعا البلد عام 2011")
    assert (
        runner.invoke(args=["petition", "import", str(write(tmp_path, corrected))]).exit_code == 0
    )
    with app.app_context(), session_scope() as session:
        [translation] = session.scalars(sa.select(PetitionTranslation)).all()
        assert "عام 2011" in translation.body_markdown


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("translates: 1", "translates: 3"), "has no text version 3"),
        (("translates: 1", "translates: yes"), "translates must be the number"),
        (("lang: ar", "lang: en"), "a translation needs another language"),
        (("lang: ar", "lang: Arabic!"), "Not a language of this site"),
        (("slug: defend-the-people-of-daraa", "slug: nothing"), "No petition nothing"),
    ],
)
def test_import_rejects_a_translation_of_nothing(
    app: Flask,
    runner: FlaskCliRunner,
    petition: Petition,
    tmp_path: Path,
    change: tuple[str, str],
    message: str,
) -> None:
    path = write(tmp_path, ARABIC.replace(*change))
    result = runner.invoke(args=["petition", "import", str(path)])
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context(), session_scope() as session:
        assert session.scalars(sa.select(PetitionTranslation)).all() == []


@pytest.fixture
def translated(app: Flask, petition: Petition, tmp_path: Path) -> Petition:
    source = service.parse_file(write(tmp_path, ARABIC))
    assert isinstance(source, service.TranslationSource)
    with app.app_context(), session_scope() as session:
        service.add_translation(session, source=source)
    return petition


def test_page_shows_the_reader_translation_with_a_link_to_the_original(
    client: FlaskClient, translated: Petition
) -> None:
    page = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert "<h1>دافعوا عن أهل درعا</h1>" in page
    assert '<div class="petition-text" lang="ar" dir="rtl">' in page
    assert "هذه ترجمة، والنص الذي يُوقَّع عليه هو النص الأصلي." in page
    assert f'<a href="/p/{SLUG}?original=1">اقرأ النص الأصلي (الإنجليزية)</a>' in page
    assert "The Syrian revolution began" not in page

    original = client.get(f"/p/{SLUG}?original=1").get_data(as_text=True)
    assert '<h1 lang="en" dir="ltr">Defend the People of Daraa</h1>' in original
    assert '<div class="petition-text" lang="en" dir="ltr">' in original
    assert "The Syrian revolution began" in original
    assert f'<a href="/p/{SLUG}">اقرأ هذه العريضة بلغتك</a>' in original

    english = client.get(f"/p/{SLUG}?lang=en").get_data(as_text=True)
    assert "دافعوا" not in english
    assert "Read this petition" not in english

    index = client.get("/?lang=ar").get_data(as_text=True)
    assert ">دافعوا عن أهل درعا</a>" in index


def test_signing_the_translated_page_records_the_version(
    app: Flask, client: FlaskClient, translated: Petition
) -> None:
    client.get("/?lang=ar")
    response = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG))
    assert response.status_code == HTTPStatus.SEE_OTHER
    with app.app_context(), session_scope() as session:
        signature = session.scalars(sa.select(Signature)).one()
        assert signature.version_id == translated.current_version_id
        # The email names the petition as the signer read it.
        [payload] = session.scalars(sa.select(OutboxMessage.payload)).all()
        assert payload["petition_title"] == "دافعوا عن أهل درعا"
    signed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "«دافعوا عن أهل درعا»" in signed


def test_translation_of_an_older_or_corrected_text_is_not_shown(
    app: Flask, client: FlaskClient, translated: Petition
) -> None:
    # Nobody signed version 1 yet: an edit corrects it in place, and the
    # translation, made from the text before, is no longer shown.
    source = service.parse_petition_file(DARAA)
    from dataclasses import replace

    with app.app_context(), session_scope() as session:
        service.publish(session, source=replace(source, body=source.body + "\nOne more line.\n"))
    page = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert "دافعوا عن أهل درعا" not in page
    assert "One more line." in page
