"""Jinja templates compiled once per test process, not once per app.

Every test builds its own app (its own settings, its own database), and each app's Jinja
environment compiled every template it rendered again: measured here, about 0.1 s of CPU
for the first petition page of each new app, most of a small test's cost. A bytecode cache
shared by the apps of one process keeps the compiled code; Jinja checks each entry against
the template's source (a checksum), so an edited template is compiled again. Production
builds one app per process, so it has nothing to share and does not use this.
"""

from __future__ import annotations

import threading

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class SharedBytecode(BytecodeCache):
    """Compiled templates in memory, for every app of this process."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: Bucket) -> None:
        compiled = bucket.bytecode_to_string()
        with self._lock:
            self._compiled[bucket.key] = compiled

    def clear(self) -> None:
        with self._lock:
            self._compiled.clear()


def share_compiled_templates() -> SharedBytecode:
    """Make every Flask app created from now on in this process use one bytecode cache."""
    cache = SharedBytecode()
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": cache}
    return cache
