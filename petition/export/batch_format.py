"""The names a batch ZIP is made of: its members and its manifest's format.

Shared by the writer (:mod:`petition.export.zipfiles`) and the verifier
(:mod:`petition.export.verify`), and standard library only, so that checking a batch
does not load what writing one needs (SQLAlchemy, the models, the typesetter).
"""

from __future__ import annotations

MANIFEST_FORMAT = "petition-export-batch"
# 2: signatures.csv has a receipt_id column and the manifest a "merkle" entry.
MANIFEST_VERSION = 2
SIGNATURES_FILE = "signatures.csv"
WITHDRAWN_FILE = "withdrawn.csv"
CHECKSUMS_FILE = "SHA256SUMS"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
