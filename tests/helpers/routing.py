"""URL builders compiled once per test process, not once per app.

Werkzeug compiles two small Python functions for every URL rule (an AST passed to
``compile``) each time the rule is bound to a map, so every new app compiles all of them
again: measured here, about 0.04 s of the 0.05 s of CPU that ``create_app`` costs, and a run
of the suite builds some 2,500 apps. A builder depends only on the rule's parsed parts, its
defaults (a default is resolved to a constant through its converter) and whether unknown
arguments are appended; the function reaches the converters and the map through the rule
it is bound to, so one compiled function serves the same rule in every app. Production
builds one app per process and does not use this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_original = Rule._compile_builder


def _key(rule: Rule, append_unknown: bool) -> tuple[Any, ...]:
    converters = tuple(
        sorted(
            (name, type(conv).__qualname__, conv.regex) for name, conv in rule._converters.items()
        )
    )
    defaults = tuple(sorted((str(k), repr(v)) for k, v in (rule.defaults or {}).items()))
    return (rule.rule, tuple(rule._trace), defaults, converters, append_unknown)


def share_compiled_url_builders() -> dict[tuple[Any, ...], Callable[..., tuple[str, str]]]:
    """Make every rule bound from now on in this process reuse builders compiled before."""
    compiled: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}
    lock = threading.Lock()

    def compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        key = _key(self, append_unknown)
        with lock:
            builder = compiled.get(key)
        if builder is None:
            builder = _original(self, append_unknown)
            with lock:
                compiled[key] = builder
        return builder

    Rule._compile_builder = compile_builder  # type: ignore[method-assign]
    return compiled
