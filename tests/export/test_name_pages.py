"""The delivery PDF's name-only parts, set without WeasyPrint (petition.export.name_pages).

Read back with Poppler (pdftotext, pdffonts, pdfinfo, pdftoppm), shaped glyphs checked
against HarfBuzz directly, and the layout compared with WeasyPrint's for the same names.
``pytest tests/export/test_name_pages.py --basetemp=/tmp/names`` keeps the PNGs to look at.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
from flask import Flask

from petition.export import name_pages, pdf
from tests import system
from tests.export.conftest import Signatures, make_batch
from tests.export.test_pdf import fonts_of, render_pngs, text_of

NAMES = ["ليلى حداد", "محمد الأحمد", "Omar Khaled", "Zoë O'Brien", "Omar عمر (الشامي) 12"]


@pytest.fixture(autouse=True)
def tools() -> None:
    # Pango brings FriBidi and fontconfig, which name_pages loads too.
    system.require("poppler-utils", "fonts-noto-core", "fonts-dejavu-core", "libpango-1.0-0")
    if name_pages.typesetter() is None:
        pytest.fail("name_pages found no fonts although the packages are installed")


def lines_of(names: list[str]) -> list[tuple[str, str, str]]:
    return [(str(n), name, "SY") for n, name in enumerate(names, start=1)]


def producer(path: Path) -> str:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return re.search(r"^Producer:\s*(.*)$", info.stdout, re.M).group(1)  # type: ignore[union-attr]


def words_with_boxes(path: Path, page: int = 1) -> list[tuple[float, float, str]]:
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [
        (float(x), float(y), word)
        for x, y, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html
        )
    ]


def test_a_batch_sets_its_later_parts_without_weasyprint(
    app: Flask,
    signatures: Signatures,
    out_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf, "NAMES_PER_PART", 2)
    signatures.add(["First Person", "Second Person", *NAMES])
    with zipfile.ZipFile(make_batch(app, out_dir)) as zf:
        for name in ("delivery.pdf", "delivery-002.pdf", "delivery-004.pdf"):
            (tmp_path / name).write_bytes(zf.read(name))
    assert producer(tmp_path / "delivery.pdf").startswith("WeasyPrint")  # the cover
    part = tmp_path / "delivery-002.pdf"
    assert producer(part) == "petition"
    text = text_of(part)
    assert "ليلى حداد" in text
    assert "محمد الأحمد" in text
    assert "Batch 1, part 2 · 1 / 1" in text
    assert "Omar 12 (" in text_of(tmp_path / "delivery-004.pdf")  # "Omar عمر (الشامي) 12"
    fonts = fonts_of(part)
    assert re.search(
        r"[A-Z]{6}\+NotoNaskhArabic-Regular\s+CID TrueType\s+Identity-H\s+yes yes yes", fonts
    )
    assert re.search(r"[A-Z]{6}\+NotoSans-Regular\s+CID TrueType\s+Identity-H\s+yes yes yes", fonts)
    pages = render_pngs(part)
    assert len(pages) == 1
    assert pages[0].stat().st_size > 2000


def test_arabic_is_shaped_and_right_to_left(tmp_path: Path) -> None:
    import uharfbuzz
    from fontTools.ttLib import TTFont

    data = name_pages.render(lines=lines_of(["ليلى حداد"]), footer="Batch 1, part 2", title="t")
    assert data is not None
    naskh = next(f for f in name_pages.typesetter().fonts if "Naskh" in f.path)  # type: ignore[union-attr]
    content = b"".join(
        zlib.decompress(m) for m in re.findall(rb"stream\n(.*?)\nendstream", data, re.S)
    )
    shown = [
        int(g, 16)
        for array in re.findall(rb"/F1 9 Tf\s+\[(.*?)\] TJ", content)
        for g in re.findall(rb"<([0-9a-f]{4})>", array)
    ]
    # What HarfBuzz itself makes of each word, right to left: visual order, joined forms.
    font = uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob.from_file_path(naskh.path)))
    expected: list[int] = []
    for word in reversed(["ليلى", "حداد"]):
        buf = uharfbuzz.Buffer()
        buf.add_str(word)
        buf.guess_segment_properties()
        uharfbuzz.shape(font, buf, {})
        expected.extend(info.codepoint for info in buf.glyph_infos)
    with TTFont(naskh.path) as tt:
        names = tt.getGlyphOrder()
        nominal = {names.index(tt.getBestCmap()[ord(c)]) for c in "ليلىحداد"}
    assert shown == expected
    assert set(expected) - nominal  # contextual forms, not the letters standing alone


def test_bidi_pieces_in_visual_order() -> None:
    bidi = name_pages.typesetter().bidi  # type: ignore[union-attr]
    assert bidi.visual_pieces("Omar Khaled") == [("Omar Khaled", False)]
    assert bidi.visual_pieces("ليلى حداد") == [("ليلى حداد", True)]
    # A left-to-right name with an Arabic word and a number after it (UAX #9 W7, N1).
    assert bidi.visual_pieces("Omar عمر 12") == [("Omar ", False), ("12", False), ("عمر ", True)]
    # A right-to-left name: the Latin word stands to the left of the Arabic one.
    assert bidi.visual_pieces("عمر Omar") == [("Omar", False), ("عمر ", True)]


def test_the_layout_matches_weasyprint(app: Flask, tmp_path: Path) -> None:
    names = [*NAMES, *(f"Signer number {n}" for n in range(60)), "نور الهدى"]
    with app.app_context():
        fast = name_pages.render(lines=lines_of(names), footer="Batch 1, part 2", title="t")
        slow = pdf.render_part(
            number=2, lines=lines_of(names), cover=None, title="t", batch_sequence=1
        )
    assert fast is not None
    (tmp_path / "fast.pdf").write_bytes(fast)
    (tmp_path / "slow.pdf").write_bytes(slow)
    for page in (1, 2):
        mine = words_with_boxes(tmp_path / "fast.pdf", page)
        theirs = words_with_boxes(tmp_path / "slow.pdf", page)
        # Each line's number: same place, to half a point (Arabic lines are deeper).
        numbers = [(x, y, w) for x, y, w in mine if re.fullmatch(r"\d+\.", w)]
        expected = [(x, y, w) for x, y, w in theirs if re.fullmatch(r"\d+\.", w)]
        assert [w for *_, w in numbers] == [w for *_, w in expected]
        for (x, y, _), (x2, y2, _) in zip(numbers, expected, strict=True):
            assert abs(x - x2) < 0.5
            assert abs(y - y2) < 0.5
        footer = [w for _, y, w in mine if y > 800]
        assert footer == [w for _, y, w in theirs if y > 800]
    numbered = re.findall(r"^\f?(\d+)\. ", text_of(tmp_path / "fast.pdf"), re.M)
    assert numbered == [str(n) for n in range(1, len(names) + 1)]


def test_a_long_name_wraps_and_stays_whole(tmp_path: Path) -> None:
    long_name = " ".join(["Abdulrahman"] * 9 + ["ابن"] * 3)
    data = name_pages.render(
        lines=[("999999", long_name, "SY"), ("1000000", "Next", "SY")],
        footer="Batch 1, part 2",
        title="t",
    )
    assert data is not None
    (tmp_path / "long.pdf").write_bytes(data)
    text = text_of(tmp_path / "long.pdf")
    assert text.count("Abdulrahman") == 9
    assert text.count("ابن") == 3
    words = words_with_boxes(tmp_path / "long.pdf")
    assert max(x for x, _, _ in words) < name_pages.PAGE_WIDTH - name_pages.MARGIN_RIGHT
    assert len({y for _, y, _ in words if y < 800}) == 3  # the name on two rows, then Next


def test_a_character_no_font_has_goes_to_weasyprint(
    app: Flask,
    signatures: Signatures,
    out_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Linear B: in none of the template's three fonts (WeasyPrint asks fontconfig for more).
    assert name_pages.render(lines=lines_of(["\U00010000 Name"]), footer="f", title="t") is None
    monkeypatch.setattr(pdf, "NAMES_PER_PART", 1)
    signatures.add(["Cover Name", "\U00010000 Name", "Plain Name"])
    with zipfile.ZipFile(make_batch(app, out_dir)) as zf:
        for name in ("delivery-002.pdf", "delivery-003.pdf"):
            (tmp_path / name).write_bytes(zf.read(name))
    assert producer(tmp_path / "delivery-002.pdf").startswith("WeasyPrint")
    assert "Name (SY)" in text_of(tmp_path / "delivery-002.pdf")
    assert producer(tmp_path / "delivery-003.pdf") == "petition"


def test_parts_set_in_the_worker_process_are_the_same_as_here(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    monkeypatch.setattr(pdf, "NAMES_PER_PART", 2)
    # Two workers: part 3 is set by a fresh process that never shaped part 2's names,
    # yet its bytes (the ToUnicode map of a mirrored bracket too) are those set here.
    monkeypatch.setattr(pdf, "PART_WORKERS", 2)
    made: dict[bool, list[bytes]] = {}
    with app.app_context():
        for parallel in (True, False):
            monkeypatch.setattr(pdf, "PARALLEL_PARTS", parallel)
            folder = tmp_path / str(parallel)
            folder.mkdir()
            document = pdf.DeliveryDocument(folder, title="t", batch_sequence=1)
            for sequence, name in enumerate([*NAMES, "Last One"], start=1):
                document.add(sequence, name, "SY")
            assert (document.pool is not None) is parallel  # parts 2 and 3 went to a worker
            assert document.typeset() == 3
            made[parallel] = [(folder / f"delivery-{n:03d}.pdf").read_bytes() for n in (2, 3)]
            assert not multiprocessing.active_children()  # no worker left behind
    assert made[True] == made[False]


def test_only_a_part_of_many_names_gives_memory_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full garbage collection walks the whole heap: after a part of a few names it costs
    # more than the memory it could free.
    from petition import create_app
    from petition.config import Settings

    releases: list[int] = []
    monkeypatch.setattr(pdf, "_release_memory", lambda: releases.append(1))
    app = create_app(Settings(testing=True, instance_path=str(tmp_path)))
    many = lines_of([f"Signer number {n}" for n in range(pdf.RELEASE_AFTER_NAMES)])
    with app.app_context():
        pdf.render_part(number=2, lines=lines_of(NAMES), cover=None, title="t", batch_sequence=1)
        assert releases == []
        pdf.render_part(number=2, lines=many, cover=None, title="t", batch_sequence=1)
    assert releases == [1]
