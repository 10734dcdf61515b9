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

import contextlib
import ctypes
import dataclasses
import functools
import gc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from petition import i18n
from petition.config import current_settings
from petition.export import guide, name_pages

NAMES_PER_PART = 2000
LINES_PER_PAGE = 56
FSI, PDI = "\u2068", "\u2069"
# False sets every part with WeasyPrint, as before name_pages (the benchmark compares).
FAST_NAME_PAGES = True


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
    """The delivery PDF of one batch: names added as the rows stream by, typeset after.

    Names are spooled to a file in ``folder`` while the rows are read; typesetting waits
    until every row has been read, so the database read ends as soon as it can and the
    row stream's allocations do not interleave on the heap with the typesetter's many
    short-lived objects. Then :meth:`typeset` writes every part but the first (which
    carries the cover, known only at the end) and :meth:`parts` hands them over.
    """

    def __init__(self, folder: Path, *, title: str, batch_sequence: int) -> None:
        self.folder = folder
        self.title = title
        self.batch_sequence = batch_sequence
        self.spool_path = folder / "names.txt"
        self.spool = self.spool_path.open("w", encoding="utf-8")
        self.first: list[NameLine] = []
        self.written: list[Path] = []

    def add(self, sequence: int, name: str, country: str) -> None:
        # One line per name: flattened, a name holds no tab or newline.
        self.spool.write(f"{sequence}\t{flat_name(name)}\t{country}\n")

    def typeset(self) -> int:
        """Typesets every part but the first; returns how many parts there are."""
        self.spool.close()
        with self.spool_path.open(encoding="utf-8") as spool:
            chunk: list[NameLine] = []
            for line in spool:
                number, name, country = line.rstrip("\n").split("\t")
                chunk.append((number, name, country))
                if len(chunk) == NAMES_PER_PART:
                    self._part(chunk)
                    chunk = []
            if chunk:
                self._part(chunk)
        self.spool_path.unlink()
        return max(1, 1 + len(self.written))

    def _part(self, lines: list[NameLine]) -> None:
        if not self.first and not self.written:
            self.first = lines
            return
        number = len(self.written) + 2
        path = self.folder / part_name(number)
        path.write_bytes(
            render_names(
                number=number, lines=lines, title=self.title, batch_sequence=self.batch_sequence
            )
        )
        self.written.append(path)

    def parts(self, cover: Cover) -> Iterator[tuple[str, bytes | Path]]:
        """Each part's file name and content, in order, after :meth:`typeset`: the first
        (with ``cover``) typeset now, as bytes; the others as their files, each deleted
        once the caller has taken it."""
        yield (
            part_name(1),
            render_part(
                number=1,
                lines=self.first,
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
