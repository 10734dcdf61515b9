"""`flask petition import | worker | recount`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.db import session_scope
from petition.petitions.models import Petition, PetitionVersion
from tests.helpers import DARAA
from tests.helpers.mail import Mailbox
from tests.signing.test_service import confirm_token_of, do_sign, in_session, outbox, signer


def test_import_creates_then_updates_a_petition(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["petition", "import", str(DARAA)])
    assert result.exit_code == 0, result.output
    assert "defend-the-people-of-daraa: open, text version 1" in result.output
    changed = tmp_path / "daraa.md"
    changed.write_text(DARAA.read_text().replace("Decision-makers worldwide", "The UN"))
    result = runner.invoke(args=["petition", "import", str(changed)])
    assert result.exit_code == 0, result.output
    with app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
        assert petition.addressed_to == "The UN"
        assert session.scalar(sa.select(sa.func.count()).select_from(PetitionVersion)) == 1


def test_import_of_a_bad_file_fails_with_its_reason(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("no front matter")
    result = app.test_cli_runner().invoke(args=["petition", "import", str(bad)])
    assert result.exit_code != 0
    assert "front matter lacks title, slug" in result.output


def test_worker_once_sends_and_folds(mail_app: Flask, mailbox: Mailbox) -> None:
    runner = mail_app.test_cli_runner()
    runner.invoke(args=["petition", "import", str(DARAA)])
    with mail_app.app_context(), session_scope(write=False) as session:
        petition = session.scalars(sa.select(Petition)).one()
    do_sign(mail_app, petition, signer())
    from petition.signing import links

    in_session(
        mail_app, links.confirm, petition, token=confirm_token_of(mail_app, outbox(mail_app)[0])
    )
    result = runner.invoke(args=["petition", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert len(mailbox.to("layla@example.org")) == 1
    result = runner.invoke(args=["petition", "recount"])
    assert "defend-the-people-of-daraa: 1" in result.output
    result = runner.invoke(args=["petition", "recount", "missing-slug"])
    assert result.exit_code != 0
    assert "no petition missing-slug" in result.output
