"""The batch key: the Ed25519 key that signs export batches; loading it, creating one in
development, fingerprints.

The fingerprint is the SHA-256 of the public key's DER encoding (SubjectPublicKeyInfo),
so a recipient can compute it with OpenSSL alone:
``openssl pkey -pubin -in key.pem -outform DER | sha256sum``.

cryptography (about 7 MB) is imported by the functions that use a key: a web worker whose
petition page finds no key file, or that serves no petition page, never loads it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app

from petition.config import Settings, current_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

logger = logging.getLogger(__name__)

DEV_KEY_NAME = "petition-signing-key.pem"


class SigningKeyError(RuntimeError):
    """The signing key is missing or is not an Ed25519 private key in PEM."""


def key_path(settings: Settings) -> Path:
    if settings.signing_key_file:
        return Path(settings.signing_key_file)
    return Path(settings.instance_path) / DEV_KEY_NAME


def load_private_key(settings: Settings) -> Ed25519PrivateKey:
    """Read the key named by the settings; in development, create it on first use.

    Raises :class:`SigningKeyError`.
    """
    if settings.is_production and not settings.signing_key_file:
        # Never make up a key in production: recipients trust the published one, and a
        # key created on a new machine would silently replace it.
        raise SigningKeyError(
            "PETITION_SIGNING_KEY_FILE must name the batch signing key (PEM) in production; "
            "make one with: openssl genpkey -algorithm ed25519 -out signing-key.pem"
        )
    path = key_path(settings)
    if not path.exists():
        if not settings.is_development or settings.signing_key_file:
            raise SigningKeyError(f"signing key file {path} does not exist")
        _create(path)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"signing key {path} is not an Ed25519 private key")
    return key


def _create(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    logger.warning("created a development signing key at %s", path)


def public_pem(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization

    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """A recipient's copy of the public key. Raises :class:`SigningKeyError`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return key


def app_key(app: Flask | None = None) -> Ed25519PrivateKey:
    """The application's signing key, read once per process."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    key: Ed25519PrivateKey | None = app.extensions.get("petition_signing_key")
    if key is None:
        key = load_private_key(current_settings(app))
        app.extensions["petition_signing_key"] = key
    return key


def app_fingerprint() -> str | None:
    """The fingerprint of the application's key, or None when it has none.

    A service without its key still serves its petitions (see views._fingerprint);
    only exports refuse to run.
    """
    try:
        return fingerprint(app_key().public_key())
    except SigningKeyError:
        return None
