"""Publishing petitions from Markdown: versions and sanitizing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.petitions import markdown
from petition.petitions import service as petitions
from petition.petitions.models import PetitionStatus, PetitionVersion
from tests.helpers import DARAA
from tests.signing.test_service import do_sign, signer


def test_daraa_file_is_parsed_from_its_front_matter() -> None:
    source = petitions.parse_petition_file(DARAA)
    assert source.slug == "defend-the-people-of-daraa"
    assert source.title == "Defend the People of Daraa"
    assert source.addressed_to == "Decision-makers worldwide"
    assert source.body.startswith("The Syrian revolution began in Daraa")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: T\n---\nbody", "slug"),
        ("---\nslug: s\n---\nbody", "title"),
        ("---\ntitle: T\nslug: s\ngoal: many\n---\nbody", "goal"),
        ("---\ntitle: [unclosed\n---\n", "p.md"),
    ],
)
def test_bad_petition_files_are_refused_with_a_reason(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "p.md"
    path.write_text(text)
    with pytest.raises(petitions.PetitionFileError, match=problem):
        petitions.parse_petition_file(path)


def test_markdown_is_rendered_without_scripts_or_raw_html() -> None:
    html = markdown.render(
        "# T\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [ok](https://example.org)"
        '\n\n<img src=x onerror="alert(1)">\n\n- item'
    )
    assert "<script" not in html
    assert "&lt;script&gt;" in html  # shown as text, never run
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">ok</a>' in html
    assert "<li>item</li>" in html


def test_editing_an_unsigned_text_corrects_it_in_place(app: Flask) -> None:
    source = petitions.PetitionSource(slug="s", title="T", body="one\n")
    with app.app_context(), session_scope() as session:
        petitions.publish(session, source=source)
        edited = petitions.publish(
            session, source=petitions.PetitionSource(slug="s", title="T", body="two\n")
        )
        assert edited.status == PetitionStatus.OPEN
        versions = session.scalars(sa.select(PetitionVersion)).all()
        assert [(v.number, v.body_markdown) for v in versions] == [(1, "two\n")]


def test_editing_a_signed_text_makes_a_new_version_and_keeps_the_old(app: Flask) -> None:
    with app.app_context(), session_scope() as session:
        first = petitions.publish(
            session, source=petitions.PetitionSource(slug="s", title="T", body="one\n")
        )
    do_sign(app, first, signer())
    with app.app_context(), session_scope() as session:
        second = petitions.publish(
            session, source=petitions.PetitionSource(slug="s", title="T", body="two\n")
        )
        versions = session.scalars(
            sa.select(PetitionVersion).order_by(PetitionVersion.number)
        ).all()
        assert [(v.number, v.body_markdown) for v in versions] == [(1, "one\n"), (2, "two\n")]
        assert second.current_version_id == versions[1].id
        assert versions[0].sha256 == petitions.text_sha256("one\n")
    do_sign(app, second, signer("other@example.org"))
    with app.app_context(), session_scope(write=False) as session:
        from petition.signing.models import Signature

        assert sorted(session.scalars(sa.select(Signature.version_id))) == [
            versions[0].id,
            versions[1].id,
        ]


def test_drafts_are_not_public(app: Flask) -> None:
    with app.app_context(), session_scope() as session:
        petitions.publish(
            session, source=petitions.PetitionSource(slug="d", title="T", body="b"), open_now=False
        )
        assert petitions.get_by_slug(session, "d") is None
        assert petitions.list_open(session) == []
