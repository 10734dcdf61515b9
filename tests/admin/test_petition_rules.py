"""One table of bad petitions, refused alike by the /admin form, an /admin import and
``petition import`` (issue 20, point 4): nothing is created, and the reason is shown.

To add a case, add a row to BAD: the field as a petition's source names it, and the
bad value. The same row is sent through all three paths.
"""

from __future__ import annotations

import io
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient

from petition.db import session_scope
from petition.petitions.models import Petition
from tests.admin.conftest import Accounts, login, token

GOOD: dict[str, Any] = {
    "slug": "water-for-deir-ez-zor",
    "title": "Water for Deir ez-Zor",
    "addressed_to": "The governor",
    "language": "en",
    "goal": 1000,
    "body": "We ask for clean water.\n",
}
HEADER = "Save the river\nBcc: attacker@evil.example"

BAD: list[tuple[str, str, Any]] = [
    ("slug-reserved-admin", "slug", "admin"),
    ("slug-reserved-api", "slug", "api"),
    ("slug-dots", "slug", ".."),
    ("slug-markup", "slug", "<b>x</b>-0788"),
    ("slug-300", "slug", "a" * 300),
    ("slug-upper", "slug", "Save-The-River"),
    ("slug-double-hyphen", "slug", "save--river"),
    ("title-50000", "title", "T" * 50_000),
    ("title-201", "title", "T" * 201),
    ("title-lf-header", "title", HEADER),
    ("title-cr-header", "title", HEADER.replace("\n", "\r")),
    ("title-line-separator", "title", HEADER.replace("\n", "\u2028")),
    ("title-escape", "title", "Save \x1b[31mthe river"),
    ("title-blank", "title", "   "),
    ("addressed-to-5000", "addressed_to", "A" * 5000),
    ("addressed-to-lf-header", "addressed_to", HEADER),
    ("language-markup", "language", "zz-<b>"),
    ("language-unknown", "language", "zz"),
    ("body-too-long", "body", "B" * 50_001),
    ("body-escape", "body", "Clean water \x1b[2J now.\n"),
    ("goal-zero", "goal", 0),
    ("goal-huge", "goal", 10**12),
]
IDS = [row[0] for row in BAD]


def _petitions(app: Flask) -> set[str]:
    with app.app_context(), session_scope(write=False) as session:
        return set(session.scalars(sa.select(Petition.slug)))


def _markdown(field: str, value: Any) -> str:
    fields = {**GOOD, field: value}
    body = fields.pop("body")
    fields["lang"] = fields.pop("language")
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True) + "---\n" + body


def _names(text: str, field: str) -> bool:
    """Whether the refusal names the field ("title: …", or "front matter lacks title")."""
    return f"{field}:" in text or f"lacks {field}" in text


@pytest.mark.parametrize(("case", "field", "value"), BAD, ids=IDS)
def test_the_admin_form_refuses_it(
    app: Flask, client: FlaskClient, accounts: Accounts, case: str, field: str, value: Any
) -> None:
    login(client, accounts.organizer)
    before = _petitions(app)
    fields = {name: str(v) for name, v in {**GOOD, field: value, "action": "save"}.items()}
    response = client.post(
        "/admin/petitions/new",
        data={"csrf_token": token(client, "/admin/petitions/new"), **fields},
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, case
    assert _petitions(app) == before


@pytest.mark.parametrize(("case", "field", "value"), BAD, ids=IDS)
def test_an_admin_import_refuses_it(
    app: Flask, client: FlaskClient, accounts: Accounts, case: str, field: str, value: Any
) -> None:
    login(client, accounts.organizer)
    before = _petitions(app)
    content = _markdown(field, value).encode()
    response = client.post(
        "/admin/petitions/import",
        data={
            "csrf_token": token(client, "/admin/petitions/import"),
            "file": (io.BytesIO(content), "p.md"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, case
    assert _names(response.get_data(as_text=True), field), case
    assert _petitions(app) == before


@pytest.mark.parametrize(("case", "field", "value"), BAD, ids=IDS)
def test_the_import_command_refuses_it(
    app: Flask, tmp_path: Path, case: str, field: str, value: Any
) -> None:
    before = _petitions(app)
    path = tmp_path / "p.md"
    path.write_text(_markdown(field, value), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["petition", "import", str(path)])
    assert result.exit_code != 0, case
    assert _names(result.output, field), case
    assert _petitions(app) == before


def test_a_good_petition_passes_all_three(
    app: Flask, client: FlaskClient, accounts: Accounts, tmp_path: Path
) -> None:
    """The table's base row is valid, so each bad row is refused for its own field."""
    login(client, accounts.organizer)
    form = client.post(
        "/admin/petitions/new",
        data={
            "csrf_token": token(client, "/admin/petitions/new"),
            **{name: str(v) for name, v in GOOD.items()},
            "action": "save",
        },
    )
    assert form.status_code == HTTPStatus.SEE_OTHER
    for slug in ("water-by-file", "water-by-command"):
        content = _markdown("slug", slug)
        if slug == "water-by-file":
            upload = client.post(
                "/admin/petitions/import",
                data={
                    "csrf_token": token(client, "/admin/petitions/import"),
                    "file": (io.BytesIO(content.encode()), "p.md"),
                },
                content_type="multipart/form-data",
            )
            assert upload.status_code == HTTPStatus.SEE_OTHER
        else:
            path = tmp_path / "p.md"
            path.write_text(content, encoding="utf-8")
            result = app.test_cli_runner().invoke(args=["petition", "import", str(path)])
            assert result.exit_code == 0, result.output
    assert {"water-for-deir-ez-zor", "water-by-file", "water-by-command"} <= _petitions(app)


def test_a_translation_file_is_held_to_the_same_rules(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "t.md"
    path.write_text(
        "---\n"
        + yaml.safe_dump(
            {
                "slug": "defend-the-people-of-daraa",
                "lang": "zz-<b>",
                "translates": 1,
                "title": HEADER,
            }
        )
        + "---\nText.\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["petition", "import", str(path)])
    assert result.exit_code != 0
    assert "language:" in result.output
    assert "title:" in result.output
