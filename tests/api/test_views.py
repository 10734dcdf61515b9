"""The public reads and the partner signatures endpoint, as a client sees them."""

from __future__ import annotations

import dataclasses
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.api import service as keys
from petition.db import db, session_scope
from petition.export import batch_key
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition, PetitionStatus
from petition.signing.models import Signature, SignatureSource
from tests.api.conftest import add_verified

SLUG = "defend-the-people-of-daraa"
SIGNATURES = f"/api/v1/petitions/{SLUG}/signatures"
BODY = {"name": "Nour Haddad", "email": "nour@example.org", "country": "SY"}


def rows(app: Flask, model: type) -> list:  # type: ignore[type-arg]
    with app.app_context():
        return list(db.session.scalars(sa.select(model)))


# --- reads -------------------------------------------------------------------------


@pytest.mark.usefixtures("petition")
def test_petition_list_and_detail_share_the_summary(client: FlaskClient) -> None:
    listed = client.get("/api/v1/petitions")
    detail = client.get(f"/api/v1/petitions/{SLUG}")
    assert listed.status_code == detail.status_code == HTTPStatus.OK
    assert listed.json["petitions"] == [detail.json]
    body = detail.json
    assert body["slug"] == SLUG
    assert body["status"] == "open"
    assert body["is_open"] is True
    assert body["signature_count"] == 0
    assert body["url"] == f"http://localhost/p/{SLUG}"
    assert len(body["text_sha256"]) == 64
    # The key that signs export batches, as published for recipients.
    published = client.get("/.well-known/petition-signing-key.pem")
    assert published.status_code == HTTPStatus.OK
    assert body["signing_key_fingerprint"] == batch_key.fingerprint(
        batch_key.load_public_key(published.data)
    )


def test_drafts_and_unknown_petitions_are_404_problems(app: Flask, client: FlaskClient) -> None:
    from petition.petitions import service
    from tests.helpers import DARAA

    with app.app_context(), session_scope() as session:
        service.publish(session, source=service.parse_petition_file(DARAA), open_now=False)
    for path in (f"/api/v1/petitions/{SLUG}", "/api/v1/petitions/nope/countries"):
        response = client.get(path)
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == HTTPStatus.NOT_FOUND
        assert response.json["detail"] == "No public petition has this slug."
    assert client.get("/api/v1/petitions").json == {"petitions": []}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/petitions", f"/api/v1/petitions/{SLUG}", f"/api/v1/petitions/{SLUG}/countries"],
)
@pytest.mark.usefixtures("petition")
def test_reads_are_cacheable_with_etags_and_open_to_any_origin(
    client: FlaskClient, path: str
) -> None:
    first = client.get(path, headers={"Origin": "https://news.example"})
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in first.headers["Access-Control-Expose-Headers"]
    cache = first.headers["Cache-Control"]
    assert cache.startswith("public, max-age=")
    assert "stale-while-revalidate=" in cache
    etag = first.headers["ETag"]

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert again.data == b""
    assert again.headers["Cache-Control"] == cache
    assert again.headers["Access-Control-Allow-Origin"] == "*"

    preflight = client.options(
        path,
        headers={
            "Origin": "https://news.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD"


def test_etag_changes_when_the_count_does(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    before = client.get(f"/api/v1/petitions/{SLUG}").headers["ETag"]
    add_verified(app, petition, ["SY"])
    changed = client.get(f"/api/v1/petitions/{SLUG}", headers={"If-None-Match": before})
    assert changed.status_code == HTTPStatus.OK
    assert changed.json["signature_count"] == 1
    assert changed.headers["ETag"] != before


def test_countries_come_from_folded_counts(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    add_verified(app, petition, ["SY", "SY", "DE", "SY", "LB", "DE"])
    body = client.get(f"/api/v1/petitions/{SLUG}/countries").json
    assert body == {
        "slug": SLUG,
        "signature_count": 6,
        "countries": [
            {"country": "SY", "signature_count": 3},
            {"country": "DE", "signature_count": 2},
            {"country": "LB", "signature_count": 1},
        ],
    }


# --- the signatures endpoint --------------------------------------------------------


def test_partner_signs_and_gets_202(app: Flask, client: FlaskClient, api_key: str) -> None:
    response = client.post(
        SIGNATURES,
        json={**BODY, "public": True, "lang": "ar"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == HTTPStatus.ACCEPTED
    assert response.json["status"] == "confirmation_sent"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in response.headers
    [signature] = rows(app, Signature)
    assert signature.source == SignatureSource.API
    assert signature.source_origin == "partner:Partner Org"
    assert signature.is_public is True
    assert signature.name == "Nour Haddad"
    [mail] = rows(app, OutboxMessage)
    assert mail.template == "confirm"
    assert mail.locale == "ar"


def test_delivery_mail_is_a_boolean_off_unless_sent(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    body = {"name": "Nour Haddad", "country": "SY"}
    wrong = client.post(
        SIGNATURES, json={**body, "email": "x@example.org", "delivery_mail": "yes"}, headers=auth
    )
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert wrong.json is not None
    assert "delivery_mail" in str(wrong.json)
    assert rows(app, Signature) == []
    for email, value in (("a@example.org", True), ("b@example.org", False)):
        answer = client.post(
            SIGNATURES, json={**body, "email": email, "delivery_mail": value}, headers=auth
        )
        assert answer.status_code == HTTPStatus.ACCEPTED
    client.post(SIGNATURES, json={**body, "email": "c@example.org"}, headers=auth)
    consents = [s.has_delivery_consent for s in sorted(rows(app, Signature), key=lambda s: s.id)]
    assert consents == [True, False, False]
    spec = client.get("/api/v1/openapi.json").get_data(as_text=True)
    assert '"delivery_mail"' in spec


def test_already_signed_gets_the_same_answer(app: Flask, client: FlaskClient, api_key: str) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    first = client.post(SIGNATURES, json=BODY, headers=auth)
    second = client.post(SIGNATURES, json={**BODY, "email": "NOUR@example.org"}, headers=auth)
    assert first.status_code == second.status_code == HTTPStatus.ACCEPTED
    assert first.data == second.data
    assert len(rows(app, Signature)) == 1
    assert [m.template for m in rows(app, OutboxMessage)] == ["confirm", "already_signed"]


@pytest.mark.usefixtures("petition")
@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Send a partner key"),
        ("Basic dXNlcjpwYXNz", "Send a partner key"),
        ("Bearer ptk_not-a-key", "not known"),
    ],
)
def test_without_a_valid_key_nothing_is_signed(
    app: Flask, client: FlaskClient, authorization: str | None, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post(SIGNATURES, json=BODY, headers=headers)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.mimetype == "application/problem+json"
    assert detail in response.json["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert rows(app, Signature) == []


def test_a_revoked_key_is_refused(app: Flask, client: FlaskClient, api_key: str) -> None:
    auth = {"Authorization": f"Bearer {api_key}"}
    with app.app_context(), session_scope() as session:
        [key] = keys.list_keys(session)
        keys.revoke_key(session, key_id=key.id, actor="cli:test")
    response = client.post(SIGNATURES, json=BODY, headers=auth)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json["detail"] == "This key has been revoked."
    assert rows(app, Signature) == []


def test_a_key_for_another_petition_is_forbidden(
    app: Flask, client: FlaskClient, api_key: str
) -> None:
    from petition.petitions import service
    from tests.helpers import DARAA

    source = dataclasses.replace(service.parse_petition_file(DARAA), slug="other")
    with app.app_context(), session_scope() as session:
        service.publish(session, source=source)
    response = client.post(
        "/api/v1/petitions/other/signatures",
        json=BODY,
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert rows(app, Signature) == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        (
            {"data": "name=x", "content_type": "application/x-www-form-urlencoded"},
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        ),
        ({"data": "{not json", "content_type": "application/json"}, HTTPStatus.BAD_REQUEST),
        ({"json": ["a", "list"]}, HTTPStatus.BAD_REQUEST),
        (
            {"data": "x" * 70_000, "content_type": "application/json"},
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        ),
    ],
)
def test_bodies_that_are_not_a_json_object_are_problems(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    kwargs: dict,
    status: HTTPStatus,
) -> None:
    response = client.post(SIGNATURES, headers={"Authorization": f"Bearer {api_key}"}, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == status
    assert rows(app, Signature) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "email", "country"}),
        ({**BODY, "name": 7, "public": "yes", "extra": 1}, {"name", "public", "extra"}),
        ({**BODY, "email": "not-an-address"}, {"email"}),
        ({**BODY, "name": "=HYPERLINK(1)", "country": "XX"}, {"name", "country"}),
        ({**BODY, "postcode": "<b>", "lang": "fr"}, {"postcode", "lang"}),
    ],
)
def test_invalid_fields_are_422_with_each_field_named(
    app: Flask,
    client: FlaskClient,
    api_key: str,
    body: dict,
    fields: set[str],
) -> None:
    response = client.post(SIGNATURES, json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json["type"] == "urn:petition:problem:validation"
    assert {error["field"] for error in response.json["errors"]} == fields
    assert rows(app, Signature) == []
    assert rows(app, OutboxMessage) == []


def test_a_closed_petition_is_a_409(app: Flask, client: FlaskClient, api_key: str) -> None:
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(status=PetitionStatus.CLOSED))
    response = client.post(SIGNATURES, json=BODY, headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == HTTPStatus.CONFLICT
    assert rows(app, Signature) == []


def test_wrong_method_is_a_405_problem(client: FlaskClient) -> None:
    response = client.put(SIGNATURES)
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


@pytest.mark.usefixtures("petition")
def test_no_browser_on_another_site_may_post(client: FlaskClient) -> None:
    preflight = client.options(
        SIGNATURES,
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers


@pytest.fixture
def limited_app(settings):  # type: ignore[no-untyped-def]
    from petition import create_app

    application = create_app(
        dataclasses.replace(
            settings, ratelimit_api_sign_per_key="2/minute", ratelimit_api_sign_per_ip="3/minute"
        )
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def test_limits_apply_per_key_and_per_address(limited_app: Flask) -> None:
    from petition.petitions import service
    from tests.helpers import DARAA

    with limited_app.app_context(), session_scope() as session:
        petition = service.publish(session, source=service.parse_petition_file(DARAA))
        _key, first = keys.create_key(session, petition=petition, name="First", actor="cli:test")
        _key, second = keys.create_key(session, petition=petition, name="Second", actor="cli:test")
    client = limited_app.test_client()
    sent = iter(range(100))

    def post(key: str, ip: str = "192.0.2.1") -> int:
        body = {**BODY, "email": f"n{next(sent)}@example.org"}
        return client.post(
            SIGNATURES,
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            environ_base={"REMOTE_ADDR": ip},
        ).status_code

    assert [post(first), post(first)] == [HTTPStatus.ACCEPTED] * 2
    limited = client.post(
        SIGNATURES,
        json=BODY,
        headers={"Authorization": f"Bearer {first}"},
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
    )
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    # The first key is spent from any address; another key has its own budget.
    assert post(first, "192.0.2.2") == HTTPStatus.TOO_MANY_REQUESTS
    assert post(second, "192.0.2.3") == HTTPStatus.ACCEPTED
    # The address's own API budget (3/minute) is spent by 192.0.2.1 within a
    # second key's budget; a refused attempt counted nowhere.
    assert [post(second), post(second)] == [HTTPStatus.ACCEPTED, HTTPStatus.TOO_MANY_REQUESTS]
    assert len(rows(limited_app, Signature)) == 4


def test_a_partner_server_is_not_flagged_as_a_burst(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(flag_burst_per_ip="2/minute")
    with app.app_context(), session_scope() as session:
        petition = session.scalars(sa.select(Petition)).one()
        _key, secret = keys.create_key(session, petition=petition, name="Partner", actor="cli:test")
    client = app.test_client()
    for n in range(4):
        response = client.post(
            SIGNATURES,
            json={**BODY, "email": f"p{n}@example.org"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status_code == HTTPStatus.ACCEPTED
    assert [s.flag_reasons for s in rows(app, Signature)] == [None] * 4


def test_without_a_signing_key_the_fingerprint_is_null(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(env="production", secret_key="s" * 40, mail_url="smtp://127.0.0.1:1")
    body = app.test_client().get(f"/api/v1/petitions/{SLUG}").json
    assert body["signing_key_fingerprint"] is None
    assert body["signature_count"] == 0
