"""PDF objects for :mod:`petition.export.name_pages`: the file, fonts, their ToUnicode maps."""

from __future__ import annotations

import hashlib
import zlib

from petition.export.fonts import Font


def write_font(writer: Writer, font: Font, gids: frozenset[int], to_unicode: dict[int, str]) -> int:
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
    to_unicode_ref = writer.stream(_to_unicode(gids, to_unicode))
    ref = writer.reserve()
    writer.put(
        ref,
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
        f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode_ref} 0 R >>",
    )
    return ref


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _to_unicode(gids: frozenset[int], texts: dict[int, str]) -> bytes:
    pairs = [(g, texts[g]) for g in sorted(gids) if texts.get(g)]
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


def text_string(text: str) -> str:
    return f"<FEFF{_utf16_hex(text)}>"


class Writer:
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
