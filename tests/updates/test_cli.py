"""`petition update send`: the same service as /admin, with a dry run."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from petition.audit.models import AuditEvent
from petition.db import session_scope
from petition.updates.models import Update, UpdateKind, UpdateStatus
from tests.updates.conftest import SLUG, Signers


def _files(tmp_path: Path) -> tuple[Path, Path]:
    english = tmp_path / "update.md"
    english.write_text("# The petition was delivered\n\nWe handed it over **today**.\n")
    arabic = tmp_path / "update.ar.md"
    arabic.write_text("# سُلِّمت العريضة\n\nسلّمناها اليوم.\n", encoding="utf-8")
    return english, arabic


def _updates(app: Flask) -> list[Update]:
    with app.app_context(), session_scope() as session:
        found = list(session.scalars(sa.select(Update).order_by(Update.id)))
        for update in found:
            update.texts  # noqa: B018 (loaded while the session is open)
        return found


def test_dry_run_prints_the_recipients_and_sends_nothing(
    app: Flask,
    runner,
    signers: Signers,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    english, arabic = _files(tmp_path)
    result = runner.invoke(
        args=[
            "petition",
            "update",
            "send",
            SLUG,
            str(english),
            "--lang",
            "ar",
            str(arabic),
            "--dry-run",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "2 signers would receive this update (dry run: nothing sent)." in result.output
    assert "  ar: 1" in result.output
    assert _updates(app) == []


def test_send_a_response_in_two_languages_then_the_weekly_cap(
    app: Flask,
    runner,
    signers: Signers,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    english, arabic = _files(tmp_path)
    args = ["petition", "update", "send", SLUG, str(english), "--lang", "ar", str(arabic)]
    result = runner.invoke(args=[*args, "--response"])
    assert result.exit_code == 0, result.output
    assert "sent to 2 signers" in result.output
    [update] = _updates(app)
    assert update.kind == UpdateKind.RESPONSE
    assert update.status == UpdateStatus.SENDING
    assert {t.language: t.subject for t in update.texts} == {
        "en": "The petition was delivered",
        "ar": "سُلِّمت العريضة",
    }
    assert "<strong>today</strong>" in update.texts[0].body_html
    with app.app_context(), session_scope() as session:
        [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "update.send"))
    assert event.actor.startswith("cli:")

    refused = runner.invoke(args=args)
    assert refused.exit_code == 1
    assert "or now with --reason" in refused.output
    assert runner.invoke(args=[*args, "--reason", "the debate date"]).exit_code == 0
    assert _updates(app)[-1].override_reason == "the debate date"


def test_bad_files_and_petitions_are_refused_clearly(
    app: Flask,
    runner,
    signers: Signers,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    no_subject = tmp_path / "plain.md"
    no_subject.write_text("Just a body.\n")
    result = runner.invoke(args=["petition", "update", "send", SLUG, str(no_subject)])
    assert result.exit_code == 1
    assert "the first line must be the subject" in result.output
    english, _ = _files(tmp_path)
    assert (
        "no petition nope"
        in runner.invoke(args=["petition", "update", "send", "nope", str(english)]).output
    )
    french = runner.invoke(
        args=["petition", "update", "send", SLUG, str(english), "--lang", "fr", str(english)]
    )
    assert french.exit_code == 1
    assert "the petition has no text in fr" in french.output
    assert _updates(app) == []
