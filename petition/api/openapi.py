"""The OpenAPI 3.1 description of API v1, kept beside the views it describes.

``tests/api/test_openapi.py`` validates every live answer of the test suite's
requests against the schemas here, and checks that every route is described.
"""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _problem(description: str, schema: str = "Problem") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref(schema)}}}


_CACHE_HEADERS = {
    "Cache-Control": {
        "description": "public, max-age and stale-while-revalidate: shared caches may serve it.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "Send it back in If-None-Match to get 304 while nothing changed.",
        "schema": {"type": "string"},
    },
    "Access-Control-Allow-Origin": {
        "description": "Always `*`: any web page may read it.",
        "schema": {"const": "*"},
    },
}
_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The petition's identifier, as in its page address /p/{slug}.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag from an earlier answer.",
    "schema": {"type": "string"},
}
_NOT_MODIFIED = {"description": "Unchanged since the ETag given in If-None-Match."}
_NOT_FOUND = _problem("No public petition has this slug.")

_SCHEMAS: dict[str, Any] = {
    "Petition": {
        "type": "object",
        "description": "A petition's public summary; the same fields as in exports and the widget.",
        "additionalProperties": False,
        "required": [
            "slug",
            "title",
            "addressed_to",
            "language",
            "status",
            "is_open",
            "signature_count",
            "goal",
            "opened_at",
            "closes_at",
            "updated_at",
            "text_version",
            "text_sha256",
            "signing_key_fingerprint",
            "url",
        ],
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "addressed_to": {"type": "string", "description": "Whom the petition asks."},
            "language": {"type": "string", "description": "Language of the text (BCP 47)."},
            "status": {"enum": ["open", "closed", "delivered"]},
            "is_open": {"type": "boolean", "description": "Whether it takes signatures now."},
            "signature_count": {
                "type": "integer",
                "minimum": 0,
                "description": "Verified (email-confirmed) signatures, updated every few seconds.",
            },
            "goal": {"type": ["integer", "null"], "minimum": 1},
            "opened_at": {"type": ["string", "null"], "format": "date-time"},
            "closes_at": {"type": ["string", "null"], "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "text_version": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "Number of the text version signers see now.",
            },
            "text_sha256": {
                "type": ["string", "null"],
                "pattern": "^[0-9a-f]{64}$",
                "description": "SHA-256 of that text's exact UTF-8 bytes.",
            },
            "signing_key_fingerprint": {
                "type": ["string", "null"],
                "pattern": "^[0-9a-f]{64}$",
                "description": "SHA-256 (hex) of the DER public key that signs export batches, "
                "as published at /.well-known/petition-signing-key.pem; null when the service "
                "has no key configured.",
            },
            "url": {"type": "string", "format": "uri", "description": "The petition's page."},
        },
    },
    "PetitionList": {
        "type": "object",
        "additionalProperties": False,
        "required": ["petitions"],
        "properties": {"petitions": {"type": "array", "items": _ref("Petition")}},
    },
    "CountryCounts": {
        "type": "object",
        "additionalProperties": False,
        "required": ["slug", "signature_count", "countries"],
        "properties": {
            "slug": {"type": "string"},
            "signature_count": {"type": "integer", "minimum": 0},
            "countries": {
                "type": "array",
                "description": "Countries with at least one verified signature, largest first.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["country", "signature_count"],
                    "properties": {
                        "country": {
                            "type": "string",
                            "pattern": "^[A-Z]{2}$",
                            "description": "ISO 3166-1 alpha-2 code.",
                        },
                        "signature_count": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
    "SignatureRequest": {
        "type": "object",
        "description": "The petition form's fields, with its rules.",
        "additionalProperties": False,
        "required": ["name", "email", "country"],
        "properties": {
            "name": {
                "type": "string",
                "maxLength": 100,
                "description": "Full name; no control characters, no web address, not "
                "starting with = + - or @.",
            },
            "email": {"type": "string", "format": "email"},
            "country": {
                "type": "string",
                "pattern": "^[A-Z]{2}$",
                "description": "ISO 3166-1 alpha-2 code.",
            },
            "postcode": {
                "type": ["string", "null"],
                "maxLength": 16,
                "pattern": "^[A-Za-z0-9][A-Za-z0-9 -]*$",
            },
            "public": {
                "type": "boolean",
                "default": False,
                "description": "Show the name on the petition page.",
            },
            "updates": {
                "type": "boolean",
                "default": False,
                "description": "The signer agrees to hear about updates.",
            },
            "delivery_mail": {
                "type": "boolean",
                "default": False,
                "description": "The signer asks to be mailed once, in their language, when "
                "an organizer marks a batch holding their signature delivered.",
            },
            "lang": {
                "enum": ["en", "ar"],
                "description": "Language of the confirmation email (default: the petition's).",
            },
        },
    },
    "SignatureAccepted": {
        "type": "object",
        "description": "The same answer whether the address is new or signed already.",
        "additionalProperties": False,
        "required": ["status", "petition", "detail"],
        "properties": {
            "status": {"const": "confirmation_sent"},
            "petition": {"type": "string"},
            "detail": {"type": "string"},
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
        },
    },
    "ValidationProblem": {
        "allOf": [
            _ref("Problem"),
            {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "type": {"const": "urn:petition:problem:validation"},
                    "status": {"const": 422},
                    "errors": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["field", "detail"],
                            "properties": {
                                "field": {"type": "string"},
                                "detail": {"type": "string"},
                            },
                        },
                    },
                },
            },
        ]
    },
}


def _read(summary: str, schema: str, *, slug: bool, description: str) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": _json(_ref(schema), "OK", headers=_CACHE_HEADERS),
        "304": _NOT_MODIFIED,
    }
    if slug:
        responses["404"] = _NOT_FOUND
    responses["429"] = _problem("Too many reads from this address (PETITION_RATELIMIT_API_PER_IP).")
    return {
        "get": {
            "summary": summary,
            "description": description,
            "operationId": summary.lower().replace(" ", "_").replace("'", ""),
            "parameters": [_IF_NONE_MATCH],
            "responses": responses,
        }
    }


def document(*, server_url: str) -> dict[str, Any]:
    """The OpenAPI document, with this service's address as the server."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Petition service API",
            "version": "1.0.0",
            "description": (
                "Read petitions and their verified counts (public, CORS, cacheable with ETags), "
                "and send signatures from a partner's own form or server with a partner key. "
                "Signers always confirm by email; only confirmed signatures count. "
                "Errors are RFC 9457 problem documents (application/problem+json)."
            ),
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": server_url.rstrip("/") + "/api/v1"}],
        "paths": {
            "/petitions": _read(
                "List petitions",
                "PetitionList",
                slug=False,
                description="Every public (not draft) petition, newest first.",
            ),
            "/petitions/{slug}": {
                "parameters": [_SLUG],
                **_read(
                    "Get a petition",
                    "Petition",
                    slug=True,
                    description="One petition's summary and verified count.",
                ),
            },
            "/petitions/{slug}/countries": {
                "parameters": [_SLUG],
                **_read(
                    "Get a petition's countries",
                    "CountryCounts",
                    slug=True,
                    description="Verified signatures by the signers' country.",
                ),
            },
            "/petitions/{slug}/signatures": {
                "parameters": [_SLUG],
                "post": {
                    "summary": "Sign a petition",
                    "operationId": "sign_a_petition",
                    "description": (
                        "Records a pending signature and emails the signer a confirmation "
                        "link. The answer is the same whether or not the address has signed "
                        "before. Not callable from browsers on other sites (no CORS): call "
                        "it from your server, where the key stays secret. Limited per key "
                        "and per client address (429 with Retry-After)."
                    ),
                    "security": [{"partnerKey": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SignatureRequest")}},
                    },
                    "responses": {
                        "202": _json(
                            _ref("SignatureAccepted"), "Accepted; the signer must confirm."
                        ),
                        "400": _problem(
                            "The body is not valid JSON, not an object, or nested too deep."
                        ),
                        "401": {
                            **_problem("No key, an unknown key or a revoked key."),
                            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                        },
                        "403": _problem("The key belongs to another petition."),
                        "404": _NOT_FOUND,
                        "409": _problem("The petition is closed."),
                        "413": _problem("The body is larger than 64 KiB."),
                        "415": _problem("The body is not application/json."),
                        "422": _problem("Fields are missing or not valid.", "ValidationProblem"),
                        "429": _problem("Too many requests for this key or address."),
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi_document",
                    "responses": {
                        "200": _json({"type": "object"}, "The OpenAPI 3.1 document."),
                        "304": _NOT_MODIFIED,
                    },
                }
            },
        },
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "partnerKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner key from the service's operator "
                    "(flask petition api-key create); valid for one petition.",
                }
            },
        },
    }
