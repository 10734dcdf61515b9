"""Signers sign and confirm over HTTP; the organizer exports and delivers two batches;
a recipient checks them with the published key, and one signer's withdrawal shows up
in the second batch by number only."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from petition.export import batch_key
from tests.export.conftest import read_csv, read_manifest
from tests.helpers.forms import csrf_from, sign_form
from tests.helpers.mail import run_worker
from tests.signing.test_views import SLUG, links


def sign_and_confirm(app: Flask, client: FlaskClient, name: str, email: str) -> str:
    """Returns the signer's withdraw path."""
    response = client.post(f"/p/{SLUG}/sign", data=sign_form(client, SLUG, name=name, email=email))
    assert response.status_code == HTTPStatus.SEE_OTHER
    found = links(app)
    page = client.get(found["confirm"]).get_data(as_text=True)
    done = client.post(found["confirm"], data={"csrf_token": csrf_from(page)})
    assert done.status_code == HTTPStatus.OK
    return found["withdraw"]


def test_recipient_checks_two_delivered_batches(
    app: Flask, client: FlaskClient, petition: object, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "batches"
    withdraw = sign_and_confirm(app, client, "ليلى حداد", "layla@example.org")
    sign_and_confirm(app, client, "Omar Khaled", "omar@example.org")
    run_worker(app)  # folds the confirmations into the count, numbering them

    result = runner.invoke(args=["petition", "export", "--petition", SLUG, "--out", str(out)])
    assert result.exit_code == 0, result.output
    first = out / f"{SLUG}-batch-1.zip"
    assert [r[1] for r in read_csv(first, "signatures.csv")[1:]] == ["ليلى حداد", "Omar Khaled"]

    # Layla withdraws after batch 1 went out; Sara signs.
    page = client.get(withdraw).get_data(as_text=True)
    assert (
        client.post(
            withdraw, data={"csrf_token": csrf_from(page), "confirm_withdraw": "yes"}
        ).status_code
        < 400
    )
    sign_and_confirm(app, client, "Sara", "sara@example.org")
    run_worker(app)
    assert (
        runner.invoke(args=["petition", "export", "--petition", SLUG, "--out", str(out)]).exit_code
        == 0
    )
    second = out / f"{SLUG}-batch-2.zip"
    assert [r[1] for r in read_csv(second, "signatures.csv")[1:]] == ["Sara"]
    assert read_csv(second, "withdrawn.csv") == [["sequence"], ["1"]]
    assert b"layla" not in second.read_bytes()

    # The recipient takes the key from the service and checks it against the page.
    key_pem = client.get("/.well-known/petition-signing-key.pem").data
    fingerprint = batch_key.fingerprint(batch_key.load_public_key(key_pem))
    assert fingerprint in client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert read_manifest(second)["signing_key"]["fingerprint_sha256"] == fingerprint  # type: ignore[index]
    pem = tmp_path / "key.pem"
    pem.write_bytes(key_pem)
    result = runner.invoke(
        args=["petition", "verify", str(second), "--public-key", str(pem), "--previous", str(first)]
    )
    assert result.exit_code == 0, result.output
    assert "chain: follows batch 1" in result.output

    for number in (1, 2):
        result = runner.invoke(args=["petition", "delivered", SLUG, str(number), "--to", "UN"])
        assert result.exit_code == 0, result.output
