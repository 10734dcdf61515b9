"""The batch key: the Ed25519 key that signs export batches; loading it, creating one in
development, fingerprints.

The fingerprint is the SHA-256 of the public key's DER encoding (SubjectPublicKeyInfo),
so a recipient can compute it with OpenSSL alone:
``openssl pkey -pubin -in key.pem -outform DER | sha256sum``.

cryptography (about 7 MB) is imported by the functions that use the private key. The pages
need only the public half (the fingerprint on every petition page and in the API, the
published PEM): a web worker that has not loaded cryptography asks a short-lived child
process for it once (:func:`app_public_key`), so serving pages never loads it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import subprocess
import sys
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
# An Ed25519 SubjectPublicKeyInfo is this DER prefix (RFC 8410) and the 32-byte key.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
# Present once this process has loaded cryptography's Ed25519 keys.
_ED25519_MODULE = "cryptography.hazmat.primitives.asymmetric.ed25519"
# The child's whole program: cryptography only, not this package (a fifth of the time).
# It prints the public key as PEM, or exits with a message on stderr.
_PUBLIC_PEM_PROGRAM = """\
import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
try:
    key = s.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
except (OSError, ValueError, TypeError) as exc:
    sys.exit(str(exc))
if not isinstance(key, Ed25519PrivateKey):
    sys.exit("not an Ed25519 private key")
public = key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
sys.stdout.buffer.write(public)
"""


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


@dataclasses.dataclass(frozen=True)
class PublicKey:
    """The public half of the batch key, as the pages show and publish it."""

    pem: bytes
    fingerprint: str


def public_key_of(key: Ed25519PublicKey) -> PublicKey:
    return PublicKey(pem=public_pem(key), fingerprint=fingerprint(key))


def public_key_from_pem(pem: bytes) -> PublicKey:
    """The fingerprint of a PEM public key, computed without cryptography: the SHA-256
    of the DER inside the PEM armour. Raises :class:`SigningKeyError` unless it is an
    Ed25519 key."""
    lines = pem.strip().splitlines()
    if len(lines) < 3 or lines[0] != b"-----BEGIN PUBLIC KEY-----":
        raise SigningKeyError("not a PEM public key")
    try:
        der = base64.b64decode(b"".join(lines[1:-1]), validate=True)
    except ValueError as exc:
        raise SigningKeyError(f"not a PEM public key: {exc}") from exc
    if len(der) != len(_ED25519_SPKI_PREFIX) + 32 or not der.startswith(_ED25519_SPKI_PREFIX):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return PublicKey(pem=pem, fingerprint=hashlib.sha256(der).hexdigest())


def public_key_in_child(path: Path) -> PublicKey:
    """The public half of the private key in ``path``, derived by a child process so that
    this one never loads cryptography. Raises :class:`SigningKeyError`."""
    try:
        # Our own interpreter and program, the path as an argument: no shell, no input.
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-I", "-c", _PUBLIC_PEM_PROGRAM, str(path)],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc}") from exc
    if done.returncode:
        reason = done.stderr.decode(errors="replace").strip().splitlines() or ["failed"]
        raise SigningKeyError(f"cannot read signing key {path}: {reason[-1]}")
    return public_key_from_pem(done.stdout)


def app_public_key(app: Flask | None = None) -> PublicKey:
    """The public half of the application's key, found once per process (a failure too:
    the key file is read once per process, and a page must not start a process each
    time). Raises :class:`SigningKeyError`.

    Where cryptography is loaded already (the process signs, or made the development
    key) it is derived here; otherwise in a child process (:func:`public_key_in_child`).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found: PublicKey | SigningKeyError | None = app.extensions.get("petition_public_key")
    if found is None:
        settings = current_settings(app)
        path = key_path(settings)
        try:
            if (
                "petition_signing_key" in app.extensions
                or _ED25519_MODULE in sys.modules
                or (settings.is_production and not settings.signing_key_file)
                or not path.exists()
            ):
                # The private key's own checks and errors (and the development key).
                found = public_key_of(app_key(app).public_key())
            else:
                found = public_key_in_child(path)
        except SigningKeyError as exc:
            found = exc
        app.extensions["petition_public_key"] = found
    if isinstance(found, SigningKeyError):
        raise found
    return found


def app_fingerprint() -> str | None:
    """The fingerprint of the application's key, or None when it has none.

    A service without its key still serves its petitions (see views._fingerprint);
    only exports refuse to run.
    """
    try:
        return app_public_key().fingerprint
    except SigningKeyError:
        return None
