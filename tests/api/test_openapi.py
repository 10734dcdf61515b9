"""The OpenAPI document describes the live API exactly: every route, every answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from petition.api import service as keys
from petition.db import session_scope
from petition.petitions.models import Petition
from tests.api.conftest import add_verified

SLUG = "defend-the-people-of-daraa"
DOC_URI = "urn:petition:openapi"


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Contract:
    """Checks live answers against the document the app serves."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(DOC_URI, resource)
        self.seen: set[tuple[str, str, str]] = set()

    def check(self, path: str, method: str, response: TestResponse) -> None:
        operation = self.document["paths"][path][method]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {path} answered undocumented {status}"
        self.seen.add((path, method, status))
        spec = operation["responses"][status]
        content = spec.get("content")
        if content is None:
            assert response.data == b"", f"{method} {path} {status} has an undocumented body"
            return
        assert response.mimetype in content, f"{method} {path} {status}: {response.mimetype}"
        schema = {
            "$ref": DOC_URI
            + _pointer(
                "paths", path, method, "responses", status, "content", response.mimetype, "schema"
            )
        }
        validator = jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=jsonschema.FormatChecker()
        )
        errors = sorted(validator.iter_errors(response.json), key=str)
        assert not errors, f"{method} {path} {status}: {errors[0]}"
        for header in spec.get("headers", {}):
            assert header in response.headers, f"{method} {path} {status} lacks {header}"


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == HTTPStatus.OK
    return Contract(response.json)


def test_the_document_is_valid_openapi_3_1(contract: Contract) -> None:
    validate_openapi(contract.document)
    assert contract.document["openapi"] == "3.1.0"
    assert contract.document["servers"] == [{"url": "http://localhost/api/v1"}]


def test_every_route_is_documented_with_its_methods(app: Flask, contract: Contract) -> None:
    documented = {
        path: {m.upper() for m in item if m != "parameters"}
        for path, item in contract.document["paths"].items()
    }
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
            served[path] = served.get(path, set()) | (rule.methods or set())
    assert served.keys() == documented.keys()
    for path, methods in served.items():
        assert methods - {"HEAD", "OPTIONS"} == documented[path]


def test_live_answers_match_the_document(
    app: Flask, client: FlaskClient, contract: Contract, petition: Petition, api_key: str
) -> None:
    add_verified(app, petition, ["SY", "LB"])
    detail = f"/petitions/{SLUG}"
    reads = [
        ("/petitions", "/api/v1/petitions"),
        ("/petitions/{slug}", f"/api/v1{detail}"),
        ("/petitions/{slug}/countries", f"/api/v1{detail}/countries"),
        ("/openapi.json", "/api/v1/openapi.json"),
    ]
    for path, url in reads:
        first = client.get(url)
        contract.check(path, "get", first)
        contract.check(
            path, "get", client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        )
    contract.check("/petitions/{slug}", "get", client.get("/api/v1/petitions/nope"))
    contract.check(
        "/petitions/{slug}/countries", "get", client.get("/api/v1/petitions/nope/countries")
    )

    sign = "/petitions/{slug}/signatures"
    url = f"/api/v1{detail}/signatures"
    auth = {"Authorization": f"Bearer {api_key}"}
    body = {"name": "Nour Haddad", "email": "nour@example.org", "country": "SY", "postcode": None}
    contract.check(sign, "post", client.post(url, json=body, headers=auth))
    contract.check(sign, "post", client.post(url, json=body, headers=auth))
    contract.check(sign, "post", client.post(url, json={"name": 1}, headers=auth))
    contract.check(sign, "post", client.post(url, json=[], headers=auth))
    contract.check(sign, "post", client.post(url, data="x", headers=auth))
    contract.check(sign, "post", client.post(url, json=body))
    contract.check(
        sign, "post", client.post("/api/v1/petitions/nope/signatures", json=body, headers=auth)
    )
    with app.app_context(), session_scope() as session:
        [key] = keys.list_keys(session)
        keys.revoke_key(session, key_id=key.id, actor="cli:test")
    contract.check(sign, "post", client.post(url, json=body, headers=auth))

    assert {status for path, _m, status in contract.seen if path == sign} == {
        "202",
        "400",
        "401",
        "404",
        "415",
        "422",
    }
