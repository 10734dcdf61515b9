"""The order the test processes take the tests in: the longest first.

Collected alphabetically, the longest tests (the load benchmark's smoke run, the image
build, the Chromium and fault tests) came late, and one process could still be in a 36 s
test while the others had nothing left to do. Taking the longest first is the classic fix
for scheduling unequal jobs on a few machines.

``make test`` runs pytest-xdist's ``worksteal`` scheduling: each process starts on an
equal share of this list, in order, and one that runs out takes half of what is left at
the end of the busiest one's share. (Its ``load`` scheduling dealt the first quarter of
the list out one by one and for good, and one process's share of the long tests kept it
busy a minute after the others had stopped.) So the few single long tests come first,
where the first process takes them one after another while the others take its short
ones; then every other test, grouped by file, the longest file first, so a module's
fixtures are still made once per process for almost every file.

How long each took is what the last run measured (kept in pytest's cache by the process
that gathers the reports); a file not measured yet counts as long when it has tests
marked ``slow``, ``faults`` or ``browser``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

CACHE_KEY = "petition/seconds-per-file"
LONG_TESTS_KEY = "petition/long-tests"
# A test this long is scheduled on its own, before the files.
LONG_TEST_SECONDS = 8.0
MARKED_LONG = ("slow", "faults", "browser")
# A file not measured yet with a marked test: as long as a long file measured here.
UNMEASURED_LONG_SECONDS = 30.0


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def recorded(config: pytest.Config, key: str = CACHE_KEY) -> dict[str, float]:
    """Seconds per test file (or per long test) in the last run, when the cache has them."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return {}
    seconds = cache.get(key, {})
    return seconds if isinstance(seconds, dict) else {}


def longest_first(
    items: list[pytest.Item], seconds: dict[str, float], long_tests: dict[str, float]
) -> list[pytest.Item]:
    """The long tests, longest first; then the others grouped by file, the longest file
    first. Ties keep collection order."""
    alone = sorted(
        (item for item in items if item.nodeid in long_tests),
        key=lambda item: long_tests[item.nodeid],
        reverse=True,
    )
    files: dict[str, list[pytest.Item]] = defaultdict(list)
    for item in items:
        if item.nodeid not in long_tests:
            files[_file(item.nodeid)].append(item)

    pulled: dict[str, float] = defaultdict(float)
    for item in alone:
        pulled[_file(item.nodeid)] += long_tests[item.nodeid]

    def estimate(name: str) -> float:
        if name in seconds:
            return float(seconds[name]) - pulled[name]
        marked = any(item.get_closest_marker(m) for item in files[name] for m in MARKED_LONG)
        return UNMEASURED_LONG_SECONDS if marked else 0.0

    order = sorted(files, key=estimate, reverse=True)  # sorted() is stable
    return alone + [item for name in order for item in files[name]]


class FileTimes:
    """Seconds per file and per test, summed from every phase of every test report."""

    def __init__(self) -> None:
        self.tests: dict[str, float] = defaultdict(float)

    def add(self, report: pytest.TestReport) -> None:
        self.tests[report.nodeid] += report.duration

    @property
    def seconds(self) -> dict[str, float]:
        """Seconds per file: the sum of its tests'."""
        files: dict[str, float] = defaultdict(float)
        for nodeid, spent in self.tests.items():
            files[_file(nodeid)] += spent
        return files

    def report(self, terminal: Any, count: int) -> None:
        total = sum(self.seconds.values())
        terminal.write_sep("=", f"seconds per file, setup + call + teardown ({total:.0f} s)")
        for name, spent in sorted(self.seconds.items(), key=lambda kv: -kv[1])[:count]:
            terminal.write_line(f"{spent:8.2f}s {name}")

    def save(self, config: pytest.Config) -> None:
        cache = getattr(config, "cache", None)
        if cache is None or not self.tests:
            return
        # Files this run did not touch keep their last figure.
        merged = {**recorded(config), **{k: round(v, 2) for k, v in self.seconds.items()}}
        cache.set(CACHE_KEY, merged)
        # A test that ran is long or not by this run; one that did not keeps its mark.
        kept = {k: v for k, v in recorded(config, LONG_TESTS_KEY).items() if k not in self.tests}
        long = {k: round(v, 2) for k, v in self.tests.items() if v >= LONG_TEST_SECONDS}
        cache.set(LONG_TESTS_KEY, {**kept, **long})
