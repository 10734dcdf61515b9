"""The printable delivery document.

A batch's names are typeset in parts of :data:`NAMES_PER_PART`: ``delivery.pdf`` holds
the cover, the petition text and the first part, typeset by WeasyPrint (HTML and CSS:
the text is Markdown); ``delivery-002.pdf`` … hold only numbered names and are set by
:mod:`petition.export.name_pages`, about forty times faster, with the same look (WeasyPrint
again for a part holding a character that module's fonts lack). Memory stays flat however
large the batch. The batch builder uses only :class:`DeliveryDocument`, :class:`Cover`
and :class:`VersionText`; how the parts are typeset is this module's own business. Each
name is isolated (U+2068 … U+2069) so an Arabic name keeps its right-to-left order inside
a left-to-right list and the reverse.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import functools
import gc
import multiprocessing
import os
import weakref
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from petition import i18n
from petition.config import current_settings
from petition.export import guide, name_pages

NAMES_PER_PART = 2000
# A part of fewer names leaves a few MB behind at most, which a full garbage collection
# would not be worth: a collection walks the whole heap (measured here, 0.3 to 0.5 s in a
# test process of 300,000 objects, run after every small batch the suite makes).
RELEASE_AFTER_NAMES = NAMES_PER_PART // 4
LINES_PER_PAGE = 56
FSI, PDI = "\u2068", "\u2069"
# False sets every part with WeasyPrint, as before name_pages (the benchmark compares).
FAST_NAME_PAGES = True
# Name-only parts are set in worker processes, beside the row reading (False: in this one).
PARALLEL_PARTS = True
# One worker per core: at a million names the parts are the larger half of the export's
# CPU, and one worker alone set the pace while the other core waited. A part's bytes do
# not depend on which worker set it (each run carries its glyphs' texts).
PART_WORKERS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
# Parts handed over and not yet collected, per worker: enough to keep each one busy.
PARTS_IN_FLIGHT = 4


@dataclasses.dataclass(frozen=True)
class VersionText:
    sha256: str
    body_html: str


@dataclasses.dataclass(frozen=True)
class Cover:
    title: str
    addressed_to: str
    language: str
    batch_sequence: int
    count: int
    first_sequence: int | None
    last_sequence: int | None
    is_full_reexport: bool
    created_at: str
    signatures_sha256: str
    key_fingerprint: str
    withdrawn_count: int
    parts: int
    versions: Sequence[VersionText]


class DeliveryDocument:
    """The delivery PDF of one batch: names added as the rows stream by.

    The first part carries the cover, known only at the end: its names are kept, and it is
    typeset by :meth:`parts`. Each later part is handed, as soon as it is full, to a
    worker process that sets it with :mod:`petition.export.name_pages` while this process
    goes on reading rows and writing the CSV (a fresh interpreter, ``spawn``: it shares
    no database connection with this one), :data:`PART_WORKERS` of them. At
    most :data:`PARTS_IN_FLIGHT` per worker wait, so memory stays flat. A part the worker cannot set comes back and is typeset here by
    WeasyPrint. :meth:`typeset` waits for the last ones; :meth:`parts` hands them over.
    """

    def __init__(self, folder: Path, *, title: str, batch_sequence: int) -> None:
        self.folder = folder
        self.title = title
        self.batch_sequence = batch_sequence
        self.chunk: list[NameLine] = []
        self.first: list[NameLine] | None = None
        self.written: list[Path] = []
        self.in_flight: collections.deque[tuple[Path, Future[list[NameLine] | None]]] = (
            collections.deque()
        )
        self.pool: ProcessPoolExecutor | None = None

    def add(self, sequence: int, name: str, country: str) -> None:
        self.chunk.append((str(sequence), flat_name(name), country))
        if len(self.chunk) == NAMES_PER_PART:
            self._part(self.chunk)
            self.chunk = []

    def add_many(self, rows: Iterable[tuple[int, str | None, str]]) -> None:
        """The next rows' ``(sequence, name, country)``, as :meth:`add` one by one."""
        chunk = self.chunk
        for sequence, name, country in rows:
            chunk.append((str(sequence), " ".join(name.split()) if name else "", country))
            if len(chunk) == NAMES_PER_PART:
                self._part(chunk)
                chunk = self.chunk = []

    def typeset(self) -> int:
        """Finishes every part but the first; returns how many parts there are."""
        if self.chunk or self.first is None:
            self._part(self.chunk)
            self.chunk = []
        while self.in_flight:
            self._collect()
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        return 1 + len(self.written)

    def _part(self, lines: list[NameLine]) -> None:
        if self.first is None:
            self.first = lines
            return
        number = len(self.written) + len(self.in_flight) + 2
        path = self.folder / part_name(number)
        pool = self._pool()
        if pool is None:
            path.write_bytes(self._render(number, lines))
            self.written.append(path)
            return
        with force_locale("en"):  # as render_part without a cover
            footer = _("Batch %(batch)s, part %(part)s", batch=self.batch_sequence, part=number)
        job = pool.submit(name_pages.write_part, str(path), lines, footer, self.title)
        self.in_flight.append((path, job))
        if len(self.in_flight) > PARTS_IN_FLIGHT * PART_WORKERS:
            self._collect()

    def _collect(self) -> None:
        path, job = self.in_flight.popleft()
        left = job.result()  # the worker's exception, if any, is raised here
        if left is not None:  # a character name_pages has no font for: WeasyPrint
            number = len(self.written) + 2
            path.write_bytes(self._render(number, left, fast=False))
        self.written.append(path)

    def _pool(self) -> ProcessPoolExecutor | None:
        if not (FAST_NAME_PAGES and PARALLEL_PARTS):
            return None
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                PART_WORKERS, mp_context=multiprocessing.get_context("spawn")
            )
            # An export that fails half-way leaves no worker behind.
            weakref.finalize(self, self.pool.shutdown, wait=False, cancel_futures=True)
        return self.pool

    def _render(self, number: int, lines: list[NameLine], *, fast: bool = True) -> bytes:
        if fast:
            return render_names(
                number=number, lines=lines, title=self.title, batch_sequence=self.batch_sequence
            )
        return render_part(
            number=number,
            lines=lines,
            cover=None,
            title=self.title,
            batch_sequence=self.batch_sequence,
        )

    def parts(self, cover: Cover) -> Iterator[tuple[str, bytes | Path]]:
        """Each part's file name and content, in order, after :meth:`typeset`: the first
        (with ``cover``) typeset now, as bytes; the others as their files, each deleted
        once the caller has taken it."""
        yield (
            part_name(1),
            render_part(
                number=1,
                lines=self.first or [],
                cover=cover,
                title=self.title,
                batch_sequence=self.batch_sequence,
            ),
        )
        for number, path in enumerate(self.written, start=2):
            yield part_name(number), path
            path.unlink()


def part_name(number: int) -> str:
    return "delivery.pdf" if number == 1 else f"delivery-{number:03d}.pdf"


NameLine = tuple[str, str, str]  # sequence number, flattened name, country


def flat_name(name: str) -> str:
    # Names may hold newlines (they survive in the CSV); a printed list keeps one a line.
    return " ".join(name.split())


def name_line(line: NameLine) -> str:
    number, name, country = line
    return f"{number}.  {FSI}{name}{PDI}  ({country})"


def guide_url() -> str:
    """The address of the recipient's guide on this service (/verify), printed on the cover:
    a recipient holding the paper can type it."""
    return current_settings().base_url.rstrip("/") + guide.PATH


def _pages(lines: Sequence[str]) -> list[str]:
    return ["\n".join(lines[i : i + LINES_PER_PAGE]) for i in range(0, len(lines), LINES_PER_PAGE)]


def _labels() -> dict[str, str]:
    return {
        "addressed_to": _("Addressed to"),
        "count": _("Signatures in this batch"),
        "full": _("full re-export of all current signatures"),
        "batch": _("Batch number"),
        "range": _("Signature numbers"),
        "created_at": _("Created (UTC)"),
        "fingerprint": _("SHA-256 of signatures.csv"),
        "key": _("Signing key fingerprint"),
        "withdrawn": _("Earlier signatures withdrawn since"),
        "parts": _("Names continue in"),
        "text": _("Text signed"),
        "names": _("Signatories"),
        "how_to_verify": _(
            "This document is part of a signed batch (ZIP). The file manifest.json in it "
            "lists the SHA-256 of signatures.csv shown above and of this PDF, and "
            "manifest.sig proves that the service holding the key above wrote it. "
            "How to check it, step by step, with the key's fingerprint:"
        ),
    }


def render_names(
    *, number: int, lines: Sequence[NameLine], title: str, batch_sequence: int
) -> bytes:
    """A part after the first: only names, set by name_pages unless it cannot."""
    if FAST_NAME_PAGES:
        with force_locale("en"):  # as render_part without a cover
            footer = _("Batch %(batch)s, part %(part)s", batch=batch_sequence, part=number)
        pdf = name_pages.render(lines=lines, footer=footer, title=title)
        if pdf is not None:
            return pdf
    return render_part(
        number=number, lines=lines, cover=None, title=title, batch_sequence=batch_sequence
    )


def render_part(
    *, number: int, lines: Sequence[NameLine], cover: Cover | None, title: str, batch_sequence: int
) -> bytes:
    """One PDF part: the cover (first part only) and up to NAMES_PER_PART name lines."""
    language = cover.language if cover else "en"
    # Labels in the petition's language, whoever runs the export and from where.
    with force_locale(language):
        return _render(
            number=number, lines=lines, cover=cover, title=title, batch_sequence=batch_sequence
        )


def _render(
    *, number: int, lines: Sequence[NameLine], cover: Cover | None, title: str, batch_sequence: int
) -> bytes:
    from weasyprint import HTML  # heavy import: only commands that export pay for it

    language = cover.language if cover else "en"
    labels = _labels()
    footer = _("Batch %(batch)s, part %(part)s", batch=batch_sequence, part=number)
    context: dict[str, object] = {
        "title": title,
        "language": language,
        "direction": i18n.direction(language),
        "footer": footer.replace('"', "").replace("'", ""),
        "pages": _pages([name_line(line) for line in lines]),
        "cover": cover is not None,
        "labels": labels,
        # Labels fall back to English where no translation exists yet: then they run
        # left to right even in a right-to-left document.
        "labels_dir": i18n.direction(language) if labels["batch"] != "Batch number" else "ltr",
        "guide_url": guide_url(),
    }
    if cover is not None:
        if cover.first_sequence is None:
            range_text = "–"
        else:
            range_text = f"{cover.first_sequence} – {cover.last_sequence}"
        context.update(
            addressed_to=cover.addressed_to,
            count=cover.count,
            batch_sequence=cover.batch_sequence,
            range_text=range_text,
            created_at=cover.created_at,
            signatures_sha256=cover.signatures_sha256,
            key_fingerprint=cover.key_fingerprint,
            withdrawn_count=cover.withdrawn_count,
            is_full_reexport=cover.is_full_reexport,
            parts=cover.parts,
            parts_text=f"{part_name(2)} … {part_name(cover.parts)}",
            versions=cover.versions,
        )
    html = render_template("export/delivery.html", **context)
    pdf: bytes = HTML(string=html).write_pdf(font_config=_font_config())
    del html
    if len(lines) >= RELEASE_AFTER_NAMES:
        _release_memory()
    return pdf


@functools.cache
def _font_config() -> Any:
    """One font configuration for every part a process typesets.

    WeasyPrint makes a new one per document by default; measured here, each one left
    about 0.25 MB behind, so a batch of a million names grew by 100 MB. Shared, memory
    stays flat.
    """
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _release_memory() -> None:
    """Give the layout's freed memory back to the system between parts.

    A part's layout allocates many small objects; without this, glibc keeps the
    freed arenas and the process's resident size creeps up part after part.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
