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


# Windows from one second up: most machines meet a limit within a second; a loaded one
# gets another try with twice the time, and a real failure fails in every one.
WINDOWS = (1, 2, 4, 8)


def in_the_shortest_window(
    attempt: Callable[[int], Callable[[], object]], *, what: str, every: float = 0.1
) -> None:
    """A limit met, refused, then passed, in the shortest window the machine allows.

    ``attempt(window)`` sets a limit of ``window`` seconds, meets it and checks the
    refusal (each try with addresses of its own), and returns the condition that holds
    once the window has passed, which is then waited on. A refusal whose checks fail
    before its window has passed is a real failure and raised at once; one that fails
    after may only have been too slow for the window (the limit's counts gone before it
    was met), so it is tried again with a window twice as long, up to the last."""
    for window in WINDOWS:
        started = time.monotonic()
        try:
            passed = attempt(window)
        except AssertionError:
            if time.monotonic() - started < window or window == WINDOWS[-1]:
                raise
            continue
        wait_for(passed, within=2 * window + 2, what=what, every=every)
        return
