"""A signer signs, confirms and withdraws over real HTTP; the logs of all of it,
Werkzeug's access log and SQL logging included, hold no address, name or token."""

from __future__ import annotations

import http.cookiejar
import logging
import re
import urllib.parse
import urllib.request
from http import HTTPStatus

import pytest

from petition.db import session_scope
from petition.petitions import service
from tests.helpers import DARAA
from tests.helpers.forms import csrf_from
from tests.helpers.mail import Mailbox, link_in, run_worker
from tests.helpers.servers import LiveServer

SLUG = "defend-the-people-of-daraa"
NAME = "Layla Haddad-Logtest"
ARABIC_NAME = "ليلى حداد"
EMAIL = "Layla.Logtest+petition@Example.org"


class Browser:
    """Just enough of a browser: cookies, form posts, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return str(response.read().decode())

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        request.add_header("Referer", self.base + path)
        with self.opener.open(request, timeout=10) as response:
            return response.status, str(response.read().decode())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sign_confirm_withdraw_logs_nothing_personal(
    live_server: LiveServer, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the worst case: everything, SQL statements too
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # restored after the test
    with live_server.app.app_context(), session_scope() as session:
        service.publish(session, source=service.parse_petition_file(DARAA))

    browser = Browser(live_server.url)
    page = browser.get(f"/p/{SLUG}?lang=ar")
    status, _ = browser.post(
        f"/p/{SLUG}/sign",
        {"csrf_token": csrf_from(page), "name": f"{NAME} {ARABIC_NAME}", "email": EMAIL,
         "country": "SY", "postcode": "ZZ-4242", "public": "y"},
    )  # fmt: skip
    assert status == HTTPStatus.OK  # after the 303 to the "check your mailbox" page
    run_worker(live_server.app)
    [message] = mailbox.to("Layla.Logtest+petition@example.org")
    confirm = link_in(message, "confirm")
    withdraw = link_in(message, "withdraw")

    page = browser.get(confirm)
    status, text = browser.post(confirm, {"csrf_token": csrf_from(page)})
    assert status == HTTPStatus.OK
    assert "تأكّد توقيعك" in text
    run_worker(live_server.app)
    page = browser.get(withdraw)
    status, text = browser.post(
        withdraw, {"csrf_token": csrf_from(page), "confirm_withdraw": "yes"}
    )
    assert status == HTTPStatus.OK
    assert "سُحب توقيعك" in text
    run_worker(live_server.app)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /p/" in logged, "the access log was not captured"
    assert "[redacted]" in logged
    secrets = [
        "Layla", "Logtest", "Haddad", "ليلى", "حداد", "example.org", "ZZ-4242",
        confirm.rsplit("/", 1)[1], withdraw.rsplit("/", 1)[1],
    ]  # fmt: skip
    for secret in secrets:
        assert secret.lower() not in logged.lower(), f"{secret!r} found in the logs"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", logged)
