"""The delivery PDF's name-only parts, typeset without a layout engine.

WeasyPrint lays out every line of a part as CSS boxes: about 0.6 ms per name measured
here, ten minutes for a million. The parts after the first hold nothing but numbered
lines of names, so this module sets them itself, the way Pango does for WeasyPrint:

- FriBidi (the C library Pango uses, through ctypes) resolves the Unicode bidirectional
  levels of each name, which is isolated (U+2068 … U+2069) inside a left-to-right line;
- HarfBuzz (uharfbuzz) shapes each word in its font and direction: Arabic joined and
  right to left, marks placed, Latin kerned. Names repeat words ("Mohammad", "Smith",
  "حداد"), so each shaped word is kept and reused; digits are set glyph by glyph;
- the fonts are the template's own list (Noto Sans, Noto Naskh Arabic, DejaVu Sans,
  found through fontconfig; :mod:`petition.export.fonts`), each part embedding a subset
  of exactly the glyphs it uses, glyph ids kept, with a ToUnicode map so the text can be
  searched and copied (:mod:`petition.export.pdf_objects` writes the file).

It looks like WeasyPrint's name pages (A4, the template's margins, 9 pt on 11.7 pt,
56 lines a page, the footer "Batch n, part m · page / pages"). Where it cannot set a
part faithfully (a character none of its fonts has, a font missing from the system),
:func:`render` returns ``None`` and the caller typesets that part with WeasyPrint.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import re
import unicodedata
from collections.abc import Sequence

from petition.export import pdf_objects
from petition.export.fonts import FAMILIES, Font, Run, Uncovered, font_file

MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_LEFT = 18 * MM, 16 * MM, 20 * MM, 16 * MM
NAME_SIZE, LINE_HEIGHT = 9.0, 9.0 * 1.3
FOOTER_SIZE = 7.5
FOOTER_GRAY = 0x44 / 0xFF
# Shaped words kept per process; cleared when full, so memory stays bounded.
CACHE_LIMIT = 200_000

# A name needs the bidirectional algorithm only if it holds right-to-left letters,
# Arabic numbers or explicit direction marks; every other name is left to right as typed.
_NEEDS_BIDI = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff"
    "\u061c\u200f\u202a-\u202e\u2066-\u2069]"
)
_FRIBIDI_PAR_ON = 0x40  # FRIBIDI_PAR_ON: direction from the first strong character


class Typesetter:
    """Shapes and places names for one process; holds the fonts and the shaped words."""

    def __init__(self, fonts: Sequence[Font]) -> None:
        self.fonts = list(fonts)
        self.words: dict[tuple[str, bool, float], tuple[Run, ...]] = {}
        self.font_of: dict[str, int] = {}
        self.bidi = _Bidi()
        self.extents = [
            (
                (LINE_HEIGHT + (font.ascent + font.descent) * NAME_SIZE / 1000) / 2,
                (LINE_HEIGHT - (font.ascent + font.descent) * NAME_SIZE / 1000) / 2,
            )
            for font in self.fonts
        ]

    def font_for(self, char: str, previous: int) -> int:
        index = self.font_of.get(char)
        if index is None:
            code = ord(char)
            category = unicodedata.category(char)
            covering = [i for i, font in enumerate(self.fonts) if code in font.cmap]
            if category in ("Mn", "Me", "Cf"):
                index = -1  # stays with the character before it
            elif covering:
                index = covering[0]
            else:
                raise Uncovered(char)
            self.font_of[char] = index
        if index == -1:
            return previous if previous >= 0 else 0
        return index

    def word(self, text: str, *, rtl: bool, size: float) -> tuple[Run, ...]:
        """One word (no spaces) in visual order, split where the font changes."""
        key = (text, rtl, size)
        found = self.words.get(key)
        if found is not None:
            return found
        if text.isascii() and text.isdigit():
            return (self.number(text, size=size),)  # unique numbers: not worth keeping
        segments: list[tuple[int, str]] = []
        start, current = 0, -1
        for at, char in enumerate(text):
            index = self.font_for(char, current)
            if index != current and at > start:
                segments.append((current, text[start:at]))
                start = at
            current = index
        segments.append((current, text[start:]))
        if rtl:
            segments.reverse()
        found = tuple(
            dataclasses.replace(self.fonts[font].shape(part, rtl=rtl, size=size), font=font)
            for font, part in segments
        )
        if len(self.words) >= CACHE_LIMIT:
            self.words.clear()
        self.words[key] = found
        return found

    def number(self, digits: str, *, size: float) -> Run:
        """ASCII digits (and dots) set glyph by glyph from the first font, unkerned."""
        glyphs, widths, every, texts = self._digit_table(size)
        # One C call for the glyphs, one for the width: a number is on every line.
        width = sum(map(widths.__getitem__, digits))
        return Run(font=0, inner=digits.translate(glyphs), width=width, glyphs=every, texts=texts)

    @functools.cache  # noqa: B019 (one typesetter per process, kept for its life)
    def _digit_table(
        self, size: float
    ) -> tuple[dict[int, str], dict[str, float], frozenset[int], tuple[tuple[int, str], ...]]:
        glyphs: dict[int, str] = {}
        widths: dict[str, float] = {}
        every: set[int] = set()
        texts: list[tuple[int, str]] = []
        for char in "0123456789.":
            run = self.fonts[0].shape(char, rtl=False, size=size)
            glyphs[ord(char)] = run.inner
            widths[char] = run.width
            every |= run.glyphs
            texts.extend(run.texts)
        return glyphs, widths, frozenset(every), tuple(texts)

    def text(self, text: str, *, size: float) -> list[Run]:
        """Runs of ``text`` in visual order, laid out as an isolated paragraph."""
        space = self.word(" ", rtl=False, size=size)[0]
        runs: list[Run] = []
        if not _NEEDS_BIDI.search(text):
            for n, word in enumerate(text.split(" ")):
                if n:
                    runs.append(space)
                if word:
                    runs.extend(self.word(word, rtl=False, size=size))
            return runs
        for piece, rtl in self.bidi.visual_pieces(text):
            words = piece.split(" ")
            if rtl:
                words.reverse()
            for n, word in enumerate(words):
                if n:
                    runs.append(space)
                if word:
                    runs.extend(self.word(word, rtl=rtl, size=size))
        return runs


class _Bidi:
    """FriBidi through ctypes, with its buffers made once."""

    def __init__(self) -> None:
        self.library = ctypes.CDLL("libfribidi.so.0")
        self.library.fribidi_get_bidi_types.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
        ]
        self.library.fribidi_get_bidi_types.restype = None
        self.library.fribidi_get_bracket_types.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.library.fribidi_get_bracket_types.restype = None
        self.library.fribidi_get_par_embedding_levels_ex.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.library.fribidi_get_par_embedding_levels_ex.restype = ctypes.c_int8
        self.size = 0
        self._grow(256)

    def _grow(self, size: int) -> None:
        self.size = size
        self.types = (ctypes.c_uint32 * size)()
        self.brackets = (ctypes.c_uint32 * size)()
        self.levels = ctypes.create_string_buffer(size)
        self.base = ctypes.c_uint32()

    def levels_of(self, text: str) -> bytes:
        n = len(text)
        if n > self.size:
            self._grow(n)
        chars = text.encode("utf-32-le")  # FriBidiChar: one UTF-32 code point each
        library = self.library
        library.fribidi_get_bidi_types(chars, n, self.types)
        library.fribidi_get_bracket_types(chars, n, self.types, self.brackets)
        self.base.value = _FRIBIDI_PAR_ON
        result = library.fribidi_get_par_embedding_levels_ex(
            self.types, self.brackets, n, ctypes.byref(self.base), self.levels
        )
        if result == 0:
            raise Uncovered(text)  # FriBidi failed (out of memory): let WeasyPrint try
        return self.levels.raw[:n]

    def visual_pieces(self, text: str) -> list[tuple[str, bool]]:
        """Pieces of ``text`` (a first-strong isolate) in visual order, each with whether it
        runs right to left."""
        levels = self.levels_of(text)
        runs: list[tuple[int, str]] = []
        start = 0
        for at in range(1, len(text) + 1):
            if at == len(text) or levels[at] != levels[start]:
                runs.append((levels[start], text[start:at]))
                start = at
        # UAX #9 rule L2: from the highest level down to the lowest odd one, reverse
        # every sequence of runs at that level or above.
        highest = max(level for level, _ in runs)
        lowest_odd = min(level for level, _ in runs) | 1
        for level in range(highest, lowest_odd - 1, -1):
            at = 0
            while at < len(runs):
                if runs[at][0] >= level:
                    end = at
                    while end < len(runs) and runs[end][0] >= level:
                        end += 1
                    runs[at:end] = reversed(runs[at:end])
                    at = end
                else:
                    at += 1
        return [(piece, bool(level & 1)) for level, piece in runs]


@functools.cache
def typesetter() -> Typesetter | None:
    """The process's typesetter, or ``None`` when a font of the template is not installed
    (or FriBidi or fontconfig is missing): then WeasyPrint sets every part."""
    try:
        paths = [font_file(family) for family in FAMILIES]
        if None in paths:
            return None
        return Typesetter([Font(path) for path in paths if path])
    except (OSError, ValueError, KeyError):
        return None


def write_part(
    path: str, lines: list[tuple[str, str, str]], footer: str, title: str
) -> list[tuple[str, str, str]] | None:
    """Writes the part to ``path`` (in the export's worker process); returns ``lines``
    back if WeasyPrint must set them instead."""
    data = render(lines=lines, footer=footer, title=title)
    if data is None:
        return lines
    with open(path, "wb") as out:
        out.write(data)
    return None


def render(*, lines: Sequence[tuple[str, str, str]], footer: str, title: str) -> bytes | None:
    """A PDF of name lines ``(number, name, country)``; ``None`` if WeasyPrint must do it.

    ``footer`` is the text before " · page / pages".
    """
    setter = typesetter()
    if setter is None:
        return None
    try:
        laid_out = [_line(setter, line) for line in lines]
    except Uncovered:
        return None
    return _write_pdf(setter, _paginate(laid_out), footer=footer, title=title)


# WeasyPrint's default style sheet gives the body a margin of 8 px (6 pt): left, and above
# the first line of a document.
BODY_MARGIN = 6.0
_AVAILABLE = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT - 2 * BODY_MARGIN
LINES_PER_PAGE = 56  # names per page, as petition.export.pdf.LINES_PER_PAGE


@dataclasses.dataclass
class Row:
    """One printed line: its runs in visual order, its height above and below the baseline."""

    runs: list[Run]
    above: float
    below: float


def _row(setter: Typesetter, runs: list[Run]) -> Row:
    # CSS line boxes: each font's glyphs get the line height, half its leading above its
    # ascent, half below its descent; the line holds them all (and the first font's strut).
    above, below = setter.extents[0]
    for font in {run.font for run in runs}:
        a, b = setter.extents[font]
        above, below = max(above, a), max(below, b)
    return Row(runs, above, below)


def _line(setter: Typesetter, line: tuple[str, str, str]) -> list[Row]:
    """One name's line, or more when a long name must wrap (at spaces, as CSS would)."""
    number, name, country = line
    size = NAME_SIZE
    space = setter.word(" ", rtl=False, size=size)[0]
    # white-space: pre-line in the template folds the two spaces around a name into one.
    runs = [
        setter.number(number + ".", size=size),
        space,
        *setter.text(name, size=size),
        space,
        *setter.word(f"({country})", rtl=False, size=size),
    ]
    if sum([run.width for run in runs]) <= _AVAILABLE:
        return [_row(setter, runs)]
    wrapped: list[list[Run]] = [[]]
    width = 0.0
    for run in runs:
        if width + run.width > _AVAILABLE and wrapped[-1]:
            if run is space:
                wrapped.append([])
                width = 0.0
                continue
            if wrapped[-1][-1] is space:
                wrapped.append([])
                width = 0.0
        wrapped[-1].append(run)
        width += run.width
    return [_row(setter, row) for row in wrapped if row]


_TOP = PAGE_HEIGHT - MARGIN_TOP
_BOTTOM = MARGIN_BOTTOM


def _paginate(lines: list[list[Row]]) -> list[list[tuple[float, Row]]]:
    """Rows with their baselines, page by page.

    As the template does: each group of :data:`LINES_PER_PAGE` names starts a page, and
    a group whose lines are taller than the page (Arabic's deeper descent) runs over onto
    the next one.
    """
    pages: list[list[tuple[float, Row]]] = []
    y = _TOP - BODY_MARGIN
    for start in range(0, len(lines), LINES_PER_PAGE):
        pages.append([])
        if start:
            y = _TOP
        for rows in lines[start : start + LINES_PER_PAGE]:
            for row in rows:
                if y - row.above - row.below < _BOTTOM and pages[-1]:
                    pages.append([])
                    y = _TOP
                pages[-1].append((y - row.above, row))
                y -= row.above + row.below
    return pages


def _write_pdf(
    setter: Typesetter, pages: list[list[tuple[float, Row]]], *, footer: str, title: str
) -> bytes:
    writer = pdf_objects.Writer()
    catalog, tree, info = writer.reserve(), writer.reserve(), writer.reserve()
    used: dict[Run, None] = {}  # in order of first use: the ToUnicode maps' order
    page_ids = []
    streams: list[bytes] = []
    main = setter.fonts[0]
    # The footer's margin box: the text centred in the bottom margin.
    footer_y = MARGIN_BOTTOM / 2 - (main.ascent + main.descent) / 2 * FOOTER_SIZE / 1000
    left = MARGIN_LEFT + BODY_MARGIN
    total = len(pages)
    for number, rows in enumerate(pages, start=1):
        out: list[str] = ["BT"]
        current = -1
        for baseline, row in rows:
            out.append(f"1 0 0 1 {left:.2f} {baseline:.2f} Tm")
            current = _show(out, row.runs, current, NAME_SIZE, used)
        runs = setter.text(f"{footer} · {number} / {total}", size=FOOTER_SIZE)
        width = sum(run.width for run in runs)
        out.append(f"{FOOTER_GRAY:.3f} g 1 0 0 1 {(PAGE_WIDTH - width) / 2:.2f} {footer_y:.2f} Tm")
        _show(out, runs, -1, FOOTER_SIZE, used)
        out.append("ET")
        streams.append("\n".join(out).encode("ascii"))
    glyphs: dict[int, set[int]] = {}
    texts: dict[int, dict[int, str]] = {}
    for run in used:
        glyphs.setdefault(run.font, set()).update(run.glyphs)
        font_texts = texts.setdefault(run.font, {})
        for gid, text in run.texts:
            font_texts.setdefault(gid, text)  # the first in the part
    for run in used:  # then mirrored brackets set right to left, for glyphs still unmapped
        for gid, text in run.mirrored_texts:
            texts[run.font].setdefault(gid, text)
    font_refs = {}
    for index in sorted(glyphs):
        font_refs[index] = pdf_objects.write_font(
            writer, setter.fonts[index], frozenset(glyphs[index]), texts[index]
        )
    fonts = " ".join(f"/F{i} {ref} 0 R" for i, ref in font_refs.items())
    resources = f"<< /Font << {fonts} >> >>"
    for stream in streams:
        content = writer.stream(stream)
        page = writer.reserve()
        writer.put(
            page,
            f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {PAGE_WIDTH:.2f} {PAGE_HEIGHT:.2f}] "
            f"/Resources {resources} /Contents {content} 0 R >>",
        )
        page_ids.append(page)
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    writer.put(tree, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>")
    writer.put(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>")
    writer.put(info, f"<< /Title {pdf_objects.text_string(title)} /Producer (petition) >>")
    return writer.finish(root=catalog, info=info)


def _show(
    out: list[str], runs: Sequence[Run], current: int, size: float, used: dict[Run, None]
) -> int:
    """Appends the operators that show ``runs``; returns the font left selected."""
    used.update(dict.fromkeys(runs))
    group: list[str] = []
    for run in runs:
        if run.font != current:
            if group:
                out.append("[" + "".join(group) + "] TJ")
                group = []
            out.append(f"/F{run.font} {size:g} Tf")
            current = run.font
        group.append(run.inner)
    if group:
        out.append("[" + "".join(group) + "] TJ")
    return current
