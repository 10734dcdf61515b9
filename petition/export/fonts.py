"""The delivery PDF's fonts for :mod:`petition.export.name_pages`: shaping and subsets.

A :class:`Font` is one TrueType file of the template's list, found through fontconfig:
its metrics, HarfBuzz (uharfbuzz) shaping of a word into a :class:`Run` of glyphs ready
for a PDF ``TJ`` array, the characters each glyph stands for (for the ToUnicode map), and
a subset of its ``glyf`` table holding only the glyphs a part uses, glyph ids kept.
"""

from __future__ import annotations

import ctypes
import dataclasses
import re
import struct
import unicodedata
from typing import Any

FAMILIES = ("Noto Sans", "Noto Naskh Arabic", "DejaVu Sans")  # templates/export/delivery.html


class Uncovered(Exception):
    """A character that none of the fonts has: the part goes to WeasyPrint instead."""


# Compared and hashed by identity, with slots: made and read on every line.
@dataclasses.dataclass(frozen=True, eq=False, slots=True)
class Run:
    """Shaped glyphs of one font, ready to sit inside a PDF ``[...] TJ`` array.

    ``inner`` may close and reopen the array (``] TJ 1.2 Ts [``) to raise a mark.
    """

    font: int
    inner: str
    width: float  # in points
    glyphs: frozenset[int]
    # Each glyph's text, for the ToUnicode map: the first cluster each glyph began, in
    # logical order. Carried by the run, so a part's map is made of the part's own runs
    # whatever the process shaped before.
    texts: tuple[tuple[int, str], ...] = ()
    # A mirrored character set right to left ("(" drawn with the glyph of ")"): its
    # glyph's text only if the part shows that glyph nowhere else (every line's "(SY)"
    # does), so the map gives a bracket glyph its own character in every part.
    mirrored_texts: tuple[tuple[int, str], ...] = ()


class Font:
    """One TrueType font: metrics, shaping, and subsets of its glyphs for embedding."""

    def __init__(self, path: str) -> None:
        import uharfbuzz
        from fontTools.ttLib import TTFont

        with TTFont(path, lazy=True) as tt:  # read what is needed, then close the file
            self._read(tt, path)
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
        texts: list[tuple[int, str]] = []
        mirrored: list[tuple[int, str]] = []
        order = range(len(infos) - 1, -1, -1) if rtl else range(len(infos))
        for at in order:  # logical order: a cluster's text goes to its first glyph
            cluster = infos[at].cluster
            if cluster not in mapped:
                mapped.add(cluster)
                piece = text[cluster : ends[cluster]]
                is_mirrored = rtl and len(piece) == 1 and unicodedata.mirrored(piece)
                (mirrored if is_mirrored else texts).append((infos[at].codepoint, piece))
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
            texts=tuple(texts),
            mirrored_texts=tuple(mirrored),
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


def font_file(family: str) -> str | None:
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
