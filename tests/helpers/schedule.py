"""The order the test processes take the tests in: the longest files first.

pytest-xdist hands out tests in collection order, a quarter of them at the start and the
rest as processes become free. Collected alphabetically, the longest tests (the load
benchmark's smoke run, the image build, the Chromium and fault tests) came late, and one
process could still be in a 36 s test while the other had nothing left to do. Taking the
longest first is the classic fix for scheduling unequal jobs on a few machines.

Whole files move, never single tests, so a module's fixtures are still made once per
process. How long a file takes is what the last run measured (kept in pytest's cache by
the process that gathers the reports); a file not measured yet counts as long when it has
tests marked ``slow``, ``faults`` or ``browser``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

CACHE_KEY = "petition/seconds-per-file"
MARKED_LONG = ("slow", "faults", "browser")
# A file not measured yet with a marked test: as long as a long file measured here.
UNMEASURED_LONG_SECONDS = 30.0


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def recorded(config: pytest.Config) -> dict[str, float]:
    """Seconds per test file in the last run, when the cache is on and has them."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return {}
    seconds = cache.get(CACHE_KEY, {})
    return seconds if isinstance(seconds, dict) else {}


def longest_files_first(items: list[pytest.Item], seconds: dict[str, float]) -> list[pytest.Item]:
    """``items`` grouped by file, the longest file first; ties keep collection order."""
    files: dict[str, list[pytest.Item]] = defaultdict(list)
    for item in items:
        files[_file(item.nodeid)].append(item)

    def estimate(name: str) -> float:
        if name in seconds:
            return float(seconds[name])
        marked = any(item.get_closest_marker(m) for item in files[name] for m in MARKED_LONG)
        return UNMEASURED_LONG_SECONDS if marked else 0.0

    order = sorted(files, key=estimate, reverse=True)  # sorted() is stable
    return [item for name in order for item in files[name]]


class FileTimes:
    """Seconds per file, summed from every phase of every test report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        self.seconds[_file(report.nodeid)] += report.duration

    def report(self, terminal: Any, count: int) -> None:
        total = sum(self.seconds.values())
        terminal.write_sep("=", f"seconds per file, setup + call + teardown ({total:.0f} s)")
        for name, spent in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:count]:
            terminal.write_line(f"{spent:8.2f}s {name}")

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, "cache", None)
        if cache is None or not self.seconds:
            return
        # Files this run did not touch keep their last figure.
        merged = {**recorded(config), **{k: round(v, 2) for k, v in self.seconds.items()}}
        cache.set(CACHE_KEY, merged)
