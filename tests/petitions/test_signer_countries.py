"""The public signer list names each signer's country in the reader's language (CLDR)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from petition.petitions.models import Petition
from petition.signing import links
from tests.signing.test_service import confirm_token_of, do_sign, fold, in_session, outbox, signer

SLUG = "defend-the-people-of-daraa"


def test_public_signers_show_country_names_not_codes(
    app: Flask, client: FlaskClient, petition: Petition
) -> None:
    do_sign(app, petition, signer("a@example.org", name="Layla", country="SY", is_public=True))
    do_sign(app, petition, signer("b@example.org", name="Omar", country="JO", is_public=True))
    for message in outbox(app):
        in_session(app, links.confirm, petition, token=confirm_token_of(app, message))
    fold(app)
    arabic = client.get(f"/p/{SLUG}?lang=ar").get_data(as_text=True)
    assert '<span class="country">سوريا</span>' in arabic
    assert '<span class="country">الأردن</span>' in arabic
    assert "(SY)" not in arabic
    assert ">SY<" not in arabic
    english = client.get(f"/p/{SLUG}?lang=en").get_data(as_text=True)
    assert '<span class="country">Syria</span>' in english
    assert '<span class="country">Jordan</span>' in english
