"""Waiting on a condition instead of for a fixed time.

A fixed sleep is either too long on a quiet machine or too short on a loaded one (the
test machine has 2 cores shared by several test runs); asking again until the condition
holds, up to a generous deadline, costs only what the condition really takes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, within: float, what: str, every: float = 0.1) -> T:
    """The first true value ``condition()`` returns, asked every ``every`` seconds;
    an AssertionError naming ``what`` when none comes within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(every)
