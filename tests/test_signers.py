"""Signers made once sign exactly as itsdangerous' own, and read back its tokens."""

from __future__ import annotations

import hashlib

import pytest
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from petition import signers

SECRET = "test-" + "s" * 40


def test_a_kept_timestamp_signer_signs_as_a_fresh_one() -> None:
    kept = signers.timestamp_signer(SECRET, salt="some-salt")
    assert kept is signers.timestamp_signer(SECRET, salt="some-salt")
    fresh = TimestampSigner(SECRET, salt="some-salt")
    for _ in range(2):  # the second signature uses the key derived by the first
        assert fresh.unsign(kept.sign(b"shown")) == b"shown"
        assert kept.unsign(fresh.sign(b"shown")) == b"shown"
    with pytest.raises(BadSignature):
        signers.timestamp_signer(SECRET, salt="another-salt").unsign(kept.sign(b"shown"))
    with pytest.raises(BadSignature):
        signers.timestamp_signer("other-" + "s" * 40, salt="some-salt").unsign(kept.sign(b"x"))


@pytest.mark.parametrize("digest", ["sha1", "sha256"])
def test_kept_dumps_make_what_the_serializer_makes(digest: str) -> None:
    serializer = URLSafeTimedSerializer(
        SECRET, salt="a-salt", signer_kwargs={"digest_method": getattr(hashlib, digest)}
    )
    kept = signers.url_safe_dumps(SECRET, salt="a-salt", digest=digest)
    payload = {"p": 7, "o": "https://news.example"}
    for _ in range(2):
        token = kept.dumps(payload)
        assert serializer.loads(token) == payload
        # Same payload, same second, same key: byte for byte the serializer's own.
        assert token.rsplit(".", 2)[0] == serializer.dumps(payload).rsplit(".", 2)[0]
    other = URLSafeTimedSerializer(SECRET, salt="other-salt")
    with pytest.raises(BadSignature):
        other.loads(kept.dumps(payload))
