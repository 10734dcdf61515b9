"""The sign, confirm and withdraw pages over HTTP."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from petition.db import session_scope, utcnow
from petition.mail.models import OutboxMessage
from petition.petitions.models import Petition
from petition.signing.models import Signature, SignatureLink, SignatureStatus
from tests.helpers.forms import csrf_from, sign_form

SLUG = "defend-the-people-of-daraa"


def rows(app: Flask) -> tuple[int, int]:
    with app.app_context(), session_scope(write=False) as session:
        return (
            session.scalar(sa.select(sa.func.count()).select_from(Signature)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0,
        )


def links(app: Flask) -> dict[str, str]:
    with app.app_context(), session_scope(write=False) as session:
        message = session.scalars(
            sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
        ).first()
        assert message is not None
        assert message.payload is not None
        return {
            kind: str(message.payload[f"{kind}_url"]).removeprefix("http://localhost")
            for kind in ("confirm", "withdraw")
            if f"{kind}_url" in message.payload
        }


@pytest.mark.usefixtures("petition")
def test_valid_signature_redirects_to_check_your_mailbox(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        f"/p/{SLUG}/sign", data=sign_form(client, SLUG, postcode=" 1010 ", public="y")
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert rows(app) == (1, 1)
    page = client.get(response.headers["Location"])
    assert "Check your mailbox" in page.get_data(as_text=True)
    with app.app_context(), session_scope(write=False) as session:
        row = session.scalars(sa.select(Signature)).one()
        assert (row.postcode, row.is_public, row.has_update_consent) == ("1010", True, False)


@pytest.mark.usefixtures("petition")
def test_arabic_name_is_stored_in_nfc(app: Flask, client: FlaskClient) -> None:
    decomposed = "Ame\u0301lie ليلى"
    client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, name=decomposed))
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalars(sa.select(Signature.name)).one() == "Amélie ليلى"


BAD_INPUT = [
    ({"name": ""}, "name", "Please enter your name."),
    ({"name": "   "}, "name", "Please enter your name."),
    ({"name": "x" * 101}, "name", "at most 100 characters"),
    ({"name": "=HYPERLINK(1)"}, "name", "must not start with"),
    ({"name": "+44 spam"}, "name", "must not start with"),
    ({"name": "-1"}, "name", "must not start with"),
    ({"name": "@admin"}, "name", "must not start with"),
    ({"name": "Layla \u202eadmin"}, "name", "invisible or control characters"),
    ({"name": "Lay\u200bla"}, "name", "invisible or control characters"),
    ({"name": "Layla\x07"}, "name", "invisible or control characters"),
    ({"name": "Visit https://spam.example"}, "name", "web address"),
    ({"name": "cheap-pills.com"}, "name", "web address"),
    ({"email": ""}, "email", "Please enter your email address."),
    ({"email": "not-an-address"}, "email", "valid email address"),
    ({"email": "a@b"}, "email", "valid email address"),
    ({"country": ""}, "country", "Please choose your country."),
    ({"country": "XX"}, "country", "Please choose your country."),
    ({"postcode": "<script>"}, "postcode", "letters, digits"),
    ({"postcode": "1" * 17}, "postcode", "at most 16"),
]


@pytest.mark.usefixtures("petition")
@pytest.mark.parametrize(("fields", "field", "message"), BAD_INPUT)
def test_bad_input_shows_the_form_again_and_stores_nothing(
    app: Flask, client: FlaskClient, fields: dict[str, str], field: str, message: str
) -> None:
    response = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, **fields))
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    html = response.get_data(as_text=True)
    assert message in html
    assert f'aria-describedby="{field}-error"' in html
    assert rows(app) == (0, 0)


@pytest.mark.usefixtures("petition")
def test_a_form_sent_back_keeps_what_was_typed(client: FlaskClient) -> None:
    response = client.post(
        f"/p/{SLUG}/sign", data=sign_form(client, SLUG, name="", email="k@example.org")
    )
    html = response.get_data(as_text=True)
    assert 'selected value="SY"' in html
    assert 'value="k@example.org"' in html


@pytest.mark.usefixtures("petition")
def test_missing_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    data = sign_form(client, SLUG)
    del data["csrf_token"]
    response = client.post(f"/p/{SLUG}/sign", data=data)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert rows(app) == (0, 0)


def test_unknown_petition_is_404(client: FlaskClient) -> None:
    assert client.get("/p/nothing-here").status_code == HTTPStatus.NOT_FOUND
    assert client.post("/p/nothing-here/sign").status_code in (
        HTTPStatus.NOT_FOUND,
        HTTPStatus.BAD_REQUEST,
    )


def test_closed_petition_takes_no_signature(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    data = sign_form(client, SLUG)
    with app.app_context(), session_scope() as session:
        session.execute(sa.update(Petition).values(status="closed"))
    response = client.post(f"/p/{SLUG}/sign", data=data)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "closed" in response.get_data(as_text=True)
    assert rows(app) == (0, 0)


@pytest.mark.usefixtures("petition")
def test_second_signature_with_same_address_gets_the_very_same_page(
    app: Flask, client: FlaskClient
) -> None:
    first = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, email="sam@example.org"))
    other = app.test_client()
    second = other.post(f"/p/{SLUG}/sign", data=sign_form(other, SLUG, email="SAM@example.org"))
    assert (first.status_code, first.headers["Location"]) == (
        second.status_code,
        second.headers["Location"],
    )
    assert client.get(first.headers["Location"]).data == other.get(second.headers["Location"]).data
    assert rows(app) == (1, 2)


@pytest.mark.usefixtures("petition")
def test_get_and_head_of_confirm_link_change_nothing(app: Flask, client: FlaskClient) -> None:
    client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG))
    path = links(app)["confirm"]
    page = client.get(path)
    assert page.status_code == HTTPStatus.OK
    assert "Confirm my signature" in page.get_data(as_text=True)
    assert client.head(path).status_code == HTTPStatus.OK
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalars(sa.select(Signature.status)).one() == SignatureStatus.PENDING
    confirmed = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert confirmed.status_code == HTTPStatus.OK
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalars(sa.select(Signature.status)).one() == SignatureStatus.VERIFIED


@pytest.mark.usefixtures("petition")
def test_confirm_post_needs_csrf(app: Flask, client: FlaskClient) -> None:
    client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG))
    response = client.post(links(app)["confirm"])
    assert response.status_code == HTTPStatus.BAD_REQUEST
    with app.app_context(), session_scope(write=False) as session:
        assert session.scalars(sa.select(Signature.status)).one() == SignatureStatus.PENDING


@pytest.mark.usefixtures("petition")
@pytest.mark.parametrize("problem", ["wrong", "used", "expired"])
def test_bad_confirm_token_gets_a_clear_page_and_changes_nothing(
    app: Flask, client: FlaskClient, problem: str
) -> None:
    client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG))
    path = links(app)["confirm"]
    csrf = csrf_from(client.get(path).get_data(as_text=True))
    expected_status, expected_text = HTTPStatus.NOT_FOUND, "This link is not valid"
    if problem == "wrong":
        path = path[:-4] + "AAAA"
    elif problem == "used":
        client.post(path, data={"csrf_token": csrf})
        expected_status, expected_text = HTTPStatus.GONE, "already confirmed"
    else:
        with app.app_context(), session_scope() as session:
            session.execute(
                sa.update(SignatureLink).values(expires_at=utcnow() - dt.timedelta(minutes=1))
            )
        expected_status, expected_text = HTTPStatus.GONE, "This link has expired"
    before = _statuses(app)
    for response in (client.get(path), client.post(path, data={"csrf_token": csrf})):
        assert response.status_code == expected_status
        assert expected_text in response.get_data(as_text=True)
    assert _statuses(app) == before


def _statuses(app: Flask) -> list[str]:
    with app.app_context(), session_scope(write=False) as session:
        return [str(s) for s in session.scalars(sa.select(Signature.status))]


@pytest.mark.usefixtures("petition")
def test_withdraw_link_page_then_post_withdraws(app: Flask, client: FlaskClient) -> None:
    client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG))
    path = links(app)["withdraw"]
    page = client.get(path)
    assert page.status_code == HTTPStatus.OK
    assert _statuses(app) == ["pending"]
    csrf = csrf_from(page.get_data(as_text=True))
    # The button alone does not withdraw: the signer ticks that they mean it.
    unticked = client.post(path, data={"csrf_token": csrf})
    assert unticked.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    html = unticked.get_data(as_text=True)
    assert "Tick the box to confirm that you want to withdraw. Nothing was changed." in html
    assert 'aria-describedby="confirm_withdraw-error"' in html
    assert _statuses(app) == ["pending"]
    arabic = client.post(f"{path}?lang=ar", data={"csrf_token": csrf, "confirm_withdraw": "no"})
    assert arabic.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "ضع علامة في المربع لتؤكد أنك تريد سحب توقيعك" in arabic.get_data(as_text=True)
    assert _statuses(app) == ["pending"]
    client.get(f"{path}?lang=en")
    done = client.post(path, data={"csrf_token": csrf, "confirm_withdraw": "yes"})
    assert done.status_code == HTTPStatus.OK
    assert "withdrawn" in done.get_data(as_text=True)
    assert _statuses(app) == ["withdrawn"]
    again = client.post(path, data={"csrf_token": csrf, "confirm_withdraw": "yes"})
    assert again.status_code == HTTPStatus.GONE
    assert "This signature was withdrawn" in again.get_data(as_text=True)
    assert "signature counts" not in again.get_data(as_text=True)
