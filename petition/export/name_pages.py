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
  found through fontconfig), each part embedding a subset of exactly the glyphs it uses
  (TrueType ``glyf`` cut down here, glyph ids kept) with a ToUnicode map, so the text
  can be searched and copied.

It looks like WeasyPrint's name pages (A4, the template's margins, 9 pt on 11.7 pt,
56 lines a page, the footer "Batch n, part m · page / pages"). Where it cannot set a
part faithfully (a character none of its fonts has, a font missing from the system),
:func:`render` returns ``None`` and the caller typesets that part with WeasyPrint.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from typing import Any

FAMILIES = ("Noto Sans", "Noto Naskh Arabic", "DejaVu Sans")  # templates/export/delivery.html
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


class Uncovered(Exception):
    """A character that none of the fonts has: the part goes to WeasyPrint instead."""


@dataclasses.dataclass(frozen=True, eq=False)  # compared and hashed by identity: fast
class Run:
    """Shaped glyphs of one font, ready to sit inside a PDF ``[...] TJ`` array.

    ``inner`` may close and reopen the array (``] TJ 1.2 Ts [``) to raise a mark.
    """

    font: int
    inner: str
    width: float  # in points
    glyphs: frozenset[int]


class Font:
    """One TrueType font: metrics, shaping, and subsets of its glyphs for embedding."""

    def __init__(self, path: str) -> None:
        import uharfbuzz
        from fontTools.ttLib import TTFont

        with TTFont(path, lazy=True) as tt:  # read what is needed, then close the file
            self._read(tt, path)
        self.to_unicode: dict[int, str] = {}
        face = uharfbuzz.Face(uharfbuzz.Blob.from_file_path(path))
        self.hb = uharfbuzz.Font(face)
        self._subsets: dict[frozenset[int], bytes] = {}

    def _read(self, tt: Any, path: str) -> None:
        if "glyf" not in tt:
            raise ValueError(f"{path}: not a TrueType-outline font")
        self.path = path
        head, hhea = tt["head"], tt["hhea"]
        self.upem: int = head.unitsPerEm
        self.cmap = frozenset(tt.getBestCmap())
        hmtx = tt["hmtx"].metrics
        self.widths = [round(hmtx[name][0] * 1000 / self.upem) for name in tt.getGlyphOrder()]
        self.ascent = hhea.ascent * 1000 / self.upem
        self.descent = hhea.descent * 1000 / self.upem
        self.bbox = [
            round(v * 1000 / self.upem) for v in (head.xMin, head.yMin, head.xMax, head.yMax)
        ]
        cap = getattr(tt.get("OS/2"), "sCapHeight", 0) or hhea.ascent
        self.cap_height = round(cap * 1000 / self.upem)
        self.ps_name = re.sub(r"[^A-Za-z0-9-]", "", tt["name"].getDebugName(6) or "Font")
        self.tables = {
            tag: tt.reader[tag]
            for tag in ("head", "hhea", "maxp", "hmtx", "cvt ", "fpgm", "prep", "OS/2", "post")
            if tag in tt.reader
        }
        glyf = tt.reader["glyf"]
        loca_raw = tt.reader["loca"]
        count = len(self.widths)
        if head.indexToLocFormat == 0:
            offsets = [2 * v for v in struct.unpack(f">{count + 1}H", loca_raw[: 2 * count + 2])]
        else:
            offsets = list(struct.unpack(f">{count + 1}I", loca_raw[: 4 * count + 4]))
        self.glyph_data = [glyf[offsets[g] : offsets[g + 1]] for g in range(count)]
        # The post table's glyph names are not needed; format 3 drops them.
        if "post" in self.tables:
            self.tables["post"] = b"\x00\x03\x00\x00" + self.tables["post"][4:32]

    def shape(self, text: str, *, rtl: bool, size: float) -> Run:
        import uharfbuzz

        buf = uharfbuzz.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        buf.direction = "rtl" if rtl else "ltr"
        # A mark gets its own cluster, so each glyph maps back to its own characters.
        buf.cluster_level = uharfbuzz.BufferClusterLevel.MONOTONE_CHARACTERS
        uharfbuzz.shape(self.hb, buf, {})
        infos, positions = buf.glyph_infos, buf.glyph_positions
        scale = 1000 / self.upem
        # Clusters in logical order: each glyph's text for the ToUnicode map.
        starts = sorted({info.cluster for info in infos})
        ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
        parts: list[str] = []
        width = 0.0
        pending = 0.0  # TJ adjustment carried to before the next glyph
        mapped: set[int] = set()
        order = range(len(infos) - 1, -1, -1) if rtl else range(len(infos))
        for at in order:  # logical order: a cluster's text goes to its first glyph
            cluster = infos[at].cluster
            if cluster not in mapped:
                mapped.add(cluster)
                self.to_unicode.setdefault(infos[at].codepoint, text[cluster : ends[cluster]])
        for info, pos in zip(infos, positions, strict=True):
            gid = info.codepoint
            advance = pos.x_advance * scale
            natural = self.widths[gid]
            glyph = f"<{gid:04x}>"
            if pos.x_offset or pos.y_offset:
                x_off, y_off = pos.x_offset * scale, pos.y_offset * scale
                pending -= x_off
                parts.append(_number(pending))
                rise = y_off * size / 1000
                parts.append(f"] TJ {rise:.2f} Ts [{glyph}] TJ 0 Ts [")
                pending = natural - advance + x_off
            else:
                parts.append(_number(pending) + glyph)
                pending = natural - advance
            width += advance
        parts.append(_number(pending))
        return Run(
            font=-1,
            inner="".join(parts),
            width=width * size / 1000,
            glyphs=frozenset(info.codepoint for info in infos),
        )

    def subset(self, gids: frozenset[int]) -> bytes:
        """A TrueType file holding only ``gids`` (and their components), ids unchanged."""
        if gids in self._subsets:
            return self._subsets[gids]
        keep = set(gids) | {0}
        todo = list(keep)
        while todo:  # composite glyphs need their components
            for component in _components(self.glyph_data[todo.pop()]):
                if component not in keep:
                    keep.add(component)
                    todo.append(component)
        glyf = bytearray()
        offsets = []
        for gid, data in enumerate(self.glyph_data):
            offsets.append(len(glyf))
            if gid in keep:
                glyf += data
                glyf += b"\0" * (-len(data) % 4)
        offsets.append(len(glyf))
        tables = dict(self.tables)
        tables["glyf"] = bytes(glyf)
        tables["loca"] = struct.pack(f">{len(offsets)}I", *offsets)
        head = bytearray(tables["head"])
        head[8:12] = b"\0\0\0\0"  # checkSumAdjustment: not checked by PDF readers
        head[50:52] = b"\x00\x01"  # indexToLocFormat: long offsets
        tables["head"] = bytes(head)
        data = _sfnt(tables)
        if len(self._subsets) > 64:
            self._subsets.clear()
        self._subsets[gids] = data
        return data


def _number(value: float) -> str:
    """A TJ adjustment; spaced, so that two in a row (where runs meet) stay two numbers."""
    if abs(value) < 0.005:
        return ""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f" {text} " if text not in ("-0", "0") else ""


def _components(data: bytes) -> list[int]:
    if len(data) < 10 or struct.unpack(">h", data[:2])[0] >= 0:
        return []
    found, at = [], 10
    while True:
        flags, gid = struct.unpack(">HH", data[at : at + 4])
        found.append(gid)
        at += 4 + (4 if flags & 0x0001 else 2)
        if flags & 0x0008:
            at += 2
        elif flags & 0x0040:
            at += 4
        elif flags & 0x0080:
            at += 8
        if not flags & 0x0020:
            return found


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(
        ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16
    )
    directory, body = bytearray(), bytearray()
    offset = 12 + 16 * count
    for tag in tags:
        data = tables[tag]
        padded = data + b"\0" * (-len(data) % 4)
        checksum = sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF
        directory += struct.pack(
            ">4sIII", tag.encode("latin-1"), checksum, offset + len(body), len(data)
        )
        body += padded
    return header + bytes(directory) + bytes(body)


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
        table = self._digit_table(size)
        inner = "".join(table[char][0] for char in digits)
        width = sum(table[char][1] for char in digits)
        return Run(font=0, inner=inner, width=width, glyphs=table["glyphs"][2])

    @functools.cache  # noqa: B019 (one typesetter per process, kept for its life)
    def _digit_table(self, size: float) -> dict[str, tuple[str, float, frozenset[int]]]:
        table: dict[str, tuple[str, float, frozenset[int]]] = {}
        glyphs: set[int] = set()
        for char in "0123456789.":
            run = self.fonts[0].shape(char, rtl=False, size=size)
            table[char] = (run.inner, run.width, run.glyphs)
            glyphs |= run.glyphs
        table["glyphs"] = ("", 0.0, frozenset(glyphs))
        return table

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
        paths = [_font_file(family) for family in FAMILIES]
        if None in paths:
            return None
        return Typesetter([Font(path) for path in paths if path])
    except (OSError, ValueError, KeyError):
        return None


def _font_file(family: str) -> str | None:
    """The file fontconfig (which Pango asks too) gives for ``family``, if it is that family."""
    fc = ctypes.CDLL("libfontconfig.so.1")
    pointer, string = ctypes.c_void_p, ctypes.c_char_p
    fc.FcNameParse.argtypes, fc.FcNameParse.restype = [string], pointer
    fc.FcConfigSubstitute.argtypes = [pointer, pointer, ctypes.c_int]
    fc.FcDefaultSubstitute.argtypes = [pointer]
    fc.FcFontMatch.argtypes = [pointer, pointer, ctypes.POINTER(ctypes.c_int)]
    fc.FcFontMatch.restype = pointer
    fc.FcPatternGetString.argtypes = [pointer, string, ctypes.c_int, ctypes.POINTER(string)]
    fc.FcPatternDestroy.argtypes = [pointer]
    pattern = fc.FcNameParse(f"{family}:style=Regular".encode())
    fc.FcConfigSubstitute(None, pattern, 0)  # FcMatchPattern
    fc.FcDefaultSubstitute(pattern)
    result = ctypes.c_int()
    match = fc.FcFontMatch(None, pattern, ctypes.byref(result))
    fc.FcPatternDestroy(pattern)
    if not match:
        return None
    try:
        value = string()
        families: list[str] = []
        while fc.FcPatternGetString(match, b"family", len(families), ctypes.byref(value)) == 0:
            families.append((value.value or b"").decode())
        if family not in families or fc.FcPatternGetString(match, b"file", 0, ctypes.byref(value)):
            return None  # fontconfig offers a stand-in: not the font the template names
        return (value.value or b"").decode()
    finally:
        fc.FcPatternDestroy(match)


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
    if sum(run.width for run in runs) <= _AVAILABLE:
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
    writer = _Writer()
    catalog, tree, info = writer.reserve(), writer.reserve(), writer.reserve()
    used: set[Run] = set()
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
    for run in used:
        glyphs.setdefault(run.font, set()).update(run.glyphs)
    font_refs = {}
    for index in sorted(glyphs):
        font_refs[index] = _write_font(writer, setter.fonts[index], frozenset(glyphs[index]))
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
    writer.put(info, f"<< /Title {_text_string(title)} /Producer (petition) >>")
    return writer.finish(root=catalog, info=info)


def _show(out: list[str], runs: Sequence[Run], current: int, size: float, used: set[Run]) -> int:
    """Appends the operators that show ``runs``; returns the font left selected."""
    used.update(runs)
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


def _write_font(writer: _Writer, font: Font, gids: frozenset[int]) -> int:
    tag = "".join(
        chr(65 + b % 26) for b in hashlib.sha256(repr(sorted(gids)).encode()).digest()[:6]
    )
    name = f"{tag}+{font.ps_name}"
    program = font.subset(gids)
    file_ref = writer.stream(program, extra=f"/Length1 {len(program)}")
    descriptor = writer.reserve()
    writer.put(
        descriptor,
        f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox {font.bbox} "
        f"/ItalicAngle 0 /Ascent {round(font.ascent)} /Descent {round(font.descent)} "
        f"/CapHeight {font.cap_height} /StemV 80 /FontFile2 {file_ref} 0 R >>",
    )
    widths = " ".join(f"{g} [{font.widths[g]}]" for g in sorted(gids))
    cid = writer.reserve()
    writer.put(
        cid,
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {descriptor} 0 R /W [{widths}] /CIDToGIDMap /Identity >>",
    )
    to_unicode = writer.stream(_to_unicode(font, gids))
    ref = writer.reserve()
    writer.put(
        ref,
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
        f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>",
    )
    return ref


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _to_unicode(font: Font, gids: frozenset[int]) -> bytes:
    pairs = [(g, font.to_unicode[g]) for g in sorted(gids) if font.to_unicode.get(g)]
    blocks = []
    for at in range(0, len(pairs), 100):
        chunk = pairs[at : at + 100]
        body = "\n".join(f"<{g:04X}> <{_utf16_hex(t)}>" for g, t in chunk)
        blocks.append(f"{len(chunk)} beginbfchar\n{body}\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _text_string(text: str) -> str:
    return f"<FEFF{_utf16_hex(text)}>"


class _Writer:
    """Numbered PDF objects written in order, with the cross-reference table at the end."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"]
        self.size = len(self.chunks[0])
        self.offsets: dict[int, int] = {}
        self.count = 0

    def reserve(self) -> int:
        self.count += 1
        return self.count

    def _add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)

    def put(self, number: int, body: str) -> None:
        self.offsets[number] = self.size
        self._add(f"{number} 0 obj\n{body}\nendobj\n".encode("ascii"))

    def stream(self, data: bytes, *, extra: str = "") -> int:
        number = self.reserve()
        packed = zlib.compress(data, 6)
        self.offsets[number] = self.size
        self._add(
            f"{number} 0 obj\n<< /Length {len(packed)} /Filter /FlateDecode {extra}>>\nstream\n".encode(
                "ascii"
            )
        )
        self._add(packed + b"\nendstream\nendobj\n")
        return number

    def finish(self, *, root: int, info: int) -> bytes:
        start = self.size
        xref = [f"xref\n0 {self.count + 1}\n0000000000 65535 f \n"]
        xref.extend(f"{self.offsets[n]:010d} 00000 n \n" for n in range(1, self.count + 1))
        xref.append(
            f"trailer\n<< /Size {self.count + 1} /Root {root} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{start}\n%%EOF\n"
        )
        self._add("".join(xref).encode("ascii"))
        return b"".join(self.chunks)
