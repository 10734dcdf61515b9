"""Every admin endpoint, for every kind of visitor: anonymous, an organizer of
another petition, the petition's organizer, and an admin.

The cases come from the URL map, so a new admin page is tested (and refused to
everyone until it declares who may open it) without anyone listing it here.
"""

from __future__ import annotations

import tempfile
from http import HTTPStatus

import pytest
from flask import Flask
from flask.testing import FlaskClient

from petition import create_app
from petition.admin.access import Access, access_of
from petition.config import Settings
from petition.db import session_scope
from petition.petitions.models import Petition
from petition.signing import counts
from petition.signing import service as signing
from petition.signing.models import SignatureSource
from tests.admin.conftest import Accounts, login, token
from tests.helpers.forms import csrf_from

SLUG = "defend-the-people-of-daraa"


def _url_map_app() -> Flask:
    folder = tempfile.mkdtemp(prefix="petition-url-map-")
    return create_app(Settings(testing=True, instance_path=folder))


def _admin_rules() -> list[tuple[str, str, str]]:
    app = _url_map_app()
    cases = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            cases.append((rule.endpoint, rule.rule, method))
    return sorted(cases)


RULES = _admin_rules()
WHO = ["anonymous", "other_organizer", "organizer", "admin"]


def test_every_admin_view_declares_its_access() -> None:
    app = _url_map_app()
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith("admin."):
            assert access_of(view) is not None, f"{endpoint} declares no access"
    assert len(RULES) >= 20


def _url(rule: str, *, signature_id: int, user_id: int, update_id: int = 0) -> str:
    return (
        rule.replace("<slug>", SLUG)
        .replace("<int:update_id>", str(update_id))
        .replace("<int:signature_id>", str(signature_id))
        .replace("<int:user_id>", str(user_id))
        .replace("<int:sequence>", "1")
        .replace("<int:event_id>", "1")
    )


def _batch(app: Flask, petition: Petition, signature_id: int) -> None:
    """Batch 1 of the petition, with the one signature verified and counted."""
    from pathlib import Path

    from petition.export import batch_key, batches
    from petition.signing.models import Signature, SignatureStatus

    with app.app_context(), session_scope() as session:
        row = session.get(Signature, signature_id)
        assert row is not None
        row.status = SignatureStatus.VERIFIED
        row.verified_at = row.created_at
        session.flush()
        counts.fold_counts(session)
    # The batch reads on a connection of its own: the fold must be committed first.
    with app.app_context(), session_scope() as session:
        current = session.merge(petition)
        batches.make_batch(
            session,
            petition=current,
            out_dir=Path(app.config["PETITION_SETTINGS"].batch_dir) / current.slug,
            key=batch_key.app_key(),
            actor="test",
        )


def _signature(app: Flask, petition: Petition) -> int:
    import datetime as dt

    with app.app_context(), session_scope() as session:
        result = signing.sign(
            session,
            petition=session.merge(petition),
            signer=signing.Signer(name="Layla Haddad", email="layla@example.org", country="SY"),
            client=signing.Client(ip="192.0.2.1", source=SignatureSource.PAGE),
            ip_key=b"k",
            base_url="http://localhost",
            token_ttl=dt.timedelta(days=1),
        )
        return result.signature_id


def _draft_update(app: Flask, petition: Petition) -> int:
    from petition.updates import service as updates
    from petition.updates.models import UpdateKind

    with app.app_context(), session_scope() as session:
        draft = updates.save_draft(
            session,
            petition=session.merge(petition),
            source=updates.DraftSource(
                kind=UpdateKind.NEWS,
                texts={"en": updates.TextSource(subject="Delivered", body="We delivered it.")},
            ),
            actor="test",
        )
        return draft.id


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("endpoint", "rule", "method"), RULES)
def test_permission_boundary(
    app: Flask,
    client: FlaskClient,
    accounts: Accounts,
    petition: Petition,
    who: str,
    endpoint: str,
    rule: str,
    method: str,
) -> None:
    view = app.view_functions[endpoint]
    level = access_of(view)
    signature_id = _signature(app, petition)
    if "<int:sequence>" in rule:
        _batch(app, petition, signature_id)
    update_id = _draft_update(app, petition) if "<int:update_id>" in rule else 0
    url = _url(rule, signature_id=signature_id, user_id=accounts.organizer_id, update_id=update_id)
    if who != "anonymous":
        email = {
            "other_organizer": accounts.other,
            "organizer": accounts.organizer,
            "admin": accounts.admin,
        }[who]
        assert login(client, email).status_code == HTTPStatus.SEE_OTHER
        csrf = token(client)
    else:
        csrf = csrf_from(client.get("/admin/login").get_data(as_text=True))

    response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": csrf})
    body = response.get_data(as_text=False)
    response.close()  # a file download holds its file open until closed

    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    status = response.status_code
    location = response.headers.get("Location", "")

    if level == Access.PUBLIC:
        assert status not in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)
        return
    if who == "anonymous":
        assert status == HTTPStatus.SEE_OTHER
        assert location.startswith("/admin/login")
        return
    assert not location.startswith("/admin/login") or endpoint == "admin.logout"
    if level == Access.ADMIN and who != "admin":
        assert status == HTTPStatus.FORBIDDEN
    elif "<slug>" in rule and who == "other_organizer":
        assert status == HTTPStatus.NOT_FOUND
    else:
        assert status not in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND), body[:500]
        assert status < HTTPStatus.INTERNAL_SERVER_ERROR


def test_organizer_does_not_see_a_draft_of_someone_else(
    client: FlaskClient, accounts: Accounts
) -> None:
    login(client, accounts.other)
    assert client.get(f"/admin/p/{SLUG}").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/admin/p/no-such-petition").status_code == HTTPStatus.NOT_FOUND
    assert SLUG not in client.get("/admin/").get_data(as_text=True)
