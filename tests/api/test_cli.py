"""`flask petition api-key …` and `flask petition allow-embed …`."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.api.models import ApiKey
from petition.audit.models import AuditEvent
from petition.db import db
from petition.petitions.models import Petition

SLUG = "defend-the-people-of-daraa"


@pytest.mark.usefixtures("petition")
def test_a_key_is_printed_once_stored_hashed_and_revocable(app: Flask) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["petition", "api-key", "create", "--petition", SLUG, "--name", "Partner Org"]
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("ptk_")
    assert len(secret) > 40
    with app.app_context():
        [key] = db.session.scalars(sa.select(ApiKey))
        assert key.name == "Partner Org"
        assert secret not in key.key_hash
        actions = list(db.session.scalars(sa.select(AuditEvent.action)))
    assert actions == ["api.key_create"]

    listed = runner.invoke(args=["petition", "api-key", "list"])
    assert f"{key.id}\t{SLUG}\tPartner Org\tactive" in listed.output
    assert secret not in listed.output

    client = app.test_client()
    body = {"name": "Nour Haddad", "email": "nour@example.org", "country": "SY"}
    url = f"/api/v1/petitions/{SLUG}/signatures"
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.post(url, json=body, headers=auth).status_code == HTTPStatus.ACCEPTED

    revoked = runner.invoke(args=["petition", "api-key", "revoke", str(key.id)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(args=["petition", "api-key", "list"]).output
    assert client.post(url, json=body, headers=auth).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.usefixtures("petition")
def test_key_commands_refuse_what_does_not_exist(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["petition", "api-key", "create", "--petition", "nope", "--name", "X"]
    )
    assert result.exit_code != 0
    assert "no petition nope" in result.output
    result = runner.invoke(
        args=["petition", "api-key", "create", "--petition", SLUG, "--name", " "]
    )
    assert result.exit_code != 0
    result = runner.invoke(args=["petition", "api-key", "revoke", "999"])
    assert result.exit_code != 0
    assert "no api key 999" in result.output


@pytest.mark.usefixtures("petition")
def test_allow_embed_sets_the_frame_ancestors(app: Flask) -> None:
    runner = app.test_cli_runner()
    client = app.test_client()

    def policy() -> str:
        return client.get(f"/embed/{SLUG}").headers["Content-Security-Policy"]

    result = runner.invoke(
        args=["petition", "allow-embed", SLUG, "https://campaign.example", "HTTPS://News.Example/"]
    )
    assert result.exit_code == 0, result.output
    assert "only https://campaign.example https://news.example may embed" in result.output
    assert "frame-ancestors https://campaign.example https://news.example" in policy()

    assert runner.invoke(args=["petition", "allow-embed", SLUG, "--none"]).exit_code == 0
    assert "frame-ancestors 'none'" in policy()
    assert runner.invoke(args=["petition", "allow-embed", SLUG, "--any"]).exit_code == 0
    assert "frame-ancestors *" in policy()
    with app.app_context():
        assert db.session.scalars(sa.select(Petition.embed_origins)).one() is None


@pytest.mark.usefixtures("petition")
@pytest.mark.parametrize(
    "args",
    [
        [SLUG],
        [SLUG, "--any", "https://a.example"],
        [SLUG, "https://a.example/path"],
        [SLUG, "https://a.example; script-src *"],
        ["nope", "--any"],
    ],
)
def test_allow_embed_refuses_bad_input(app: Flask, args: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=["petition", "allow-embed", *args])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalars(sa.select(Petition.embed_origins)).one() is None
