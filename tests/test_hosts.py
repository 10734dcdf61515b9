"""Every absolute address comes from PETITION_BASE_URL, and production answers for no
other host (issue 20, point 1: a Host header that poisoned the page cache)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask

from petition.abuse import traps
from petition.db import db, utcnow
from petition.mail.models import OutboxMessage
from tests.helpers.forms import csrf_from

SLUG = "defend-the-people-of-daraa"
# Every public read that renders an absolute address, and one that does not.
READS = (
    f"/p/{SLUG}",
    f"/p/{SLUG}?lang=ar",
    f"/p/{SLUG}/count",
    f"/api/v1/petitions/{SLUG}",
    "/api/v1/petitions",
    "/api/v1/openapi.json",
    f"/embed/{SLUG}",
    f"/embed/{SLUG}?mode=count",
    f"/embed/{SLUG}/signed",
)
# What an attacker sends: a Host of their own, or a forwarded one through the proxy.
HOSTILE = ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"})
PRODUCTION = {
    "env": "production",
    "secret_key": "s" * 40,
    "mail_url": "smtp://127.0.0.1:1",
    "base_url": "https://petitions.example.org",
}


@pytest.mark.parametrize("path", READS)
def test_a_hostile_host_poisons_no_answer_kept_for_other_readers(
    make_app: Callable[..., Flask], path: str
) -> None:
    # Reproduces the report: one GET with Host: evil.example, then ten ordinary reads
    # within the micro-cache's time. Behind one proxy (proxy_hops=1) X-Forwarded-Host
    # is believed too, which is the same attack through the proxy.
    app = make_app(page_cache_seconds=60, proxy_hops=1)
    client = app.test_client()
    for headers in HOSTILE:
        hostile = client.get(path, headers=headers)
        assert hostile.status_code == HTTPStatus.OK
        assert "evil.example" not in hostile.get_data(as_text=True)
    for _ in range(10):
        ordinary = client.get(path)
        assert ordinary.status_code == HTTPStatus.OK
        assert "evil.example" not in ordinary.get_data(as_text=True)


def test_the_api_and_the_widget_link_to_the_configured_address(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(base_url="https://petitions.example.org")
    client = app.test_client()
    summary = client.get(f"/api/v1/petitions/{SLUG}", headers={"Host": "evil.example"}).json
    assert summary is not None
    assert summary["url"] == f"https://petitions.example.org/p/{SLUG}"
    document = client.get("/api/v1/openapi.json", headers={"Host": "evil.example"}).json
    assert document is not None
    assert document["servers"] == [{"url": "https://petitions.example.org/api/v1"}]
    frame = client.get(f"/embed/{SLUG}?lang=ar", headers={"Host": "evil.example"})
    assert f'href="https://petitions.example.org/p/{SLUG}?lang=ar"' in frame.get_data(as_text=True)


def test_a_signature_sent_to_another_host_is_mailed_the_configured_links(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(base_url="http://petitions.example.org")
    client = app.test_client()
    # The page and the POST both to the other host, so its session cookie goes along.
    page = client.get(f"/p/{SLUG}", base_url="http://evil.example")
    form = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "shown": traps.form_shown_token(app.secret_key, at=utcnow() - dt.timedelta(minutes=1)),
        "name": "Layla Haddad",
        "email": "layla@example.org",
        "country": "SY",
    }
    response = client.post(f"/p/{SLUG}/sign", data=form, base_url="http://evil.example")
    assert response.status_code == HTTPStatus.SEE_OTHER
    with app.app_context():
        payloads = db.session.scalars(sa.select(OutboxMessage.payload)).all()
    assert len(payloads) == 1
    assert "evil.example" not in str(payloads[0])
    assert f"http://petitions.example.org/p/{SLUG}/confirm/" in str(payloads[0])


@pytest.mark.parametrize("path", [*READS, "/static/style.css", f"/p/{SLUG}/sign"])
def test_production_refuses_a_request_for_another_host(
    make_app: Callable[..., Flask], path: str
) -> None:
    client = make_app(**PRODUCTION).test_client()
    refused = client.get(path, headers={"Host": "evil.example"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "evil.example" not in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "petitions.example.org"}, HTTPStatus.OK),
        ({"Host": "petitions.example.org:443"}, HTTPStatus.OK),
        ({"Host": "PETITIONS.example.org"}, HTTPStatus.OK),
        ({"Host": "evil.example"}, HTTPStatus.BAD_REQUEST),
        ({"Host": "sub.petitions.example.org"}, HTTPStatus.BAD_REQUEST),
        # The health check's address, named in PETITION_TRUSTED_HOSTS.
        ({"Host": "127.0.0.1:8000"}, HTTPStatus.OK),
        ({"Host": "localhost"}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_production_answers_the_configured_host_and_the_trusted_ones(
    make_app: Callable[..., Flask], headers: dict[str, str], status: HTTPStatus
) -> None:
    client = make_app(**PRODUCTION, trusted_hosts="127.0.0.1").test_client()
    assert client.get(f"/api/v1/petitions/{SLUG}", headers=headers).status_code == status


@pytest.mark.parametrize(
    ("forwarded", "status"),
    [("petitions.example.org", HTTPStatus.OK), ("evil.example", HTTPStatus.BAD_REQUEST)],
)
def test_behind_a_proxy_production_checks_the_host_the_proxy_passed_on(
    make_app: Callable[..., Flask], forwarded: str, status: HTTPStatus
) -> None:
    client = make_app(**PRODUCTION, proxy_hops=1).test_client()
    headers = {"Host": "10.0.0.5:8000", "X-Forwarded-Host": forwarded}
    assert client.get(f"/p/{SLUG}", headers=headers).status_code == status
