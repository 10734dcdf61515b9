"""The share card: a PNG the service draws itself for Open Graph and Twitter previews.

Drawn with Pillow from the system's Noto fonts (Debian ``fonts-noto-core``), so a
shared link shows the petition without any image host. Arabic is shaped by
Pillow's Raqm layout when available.
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
BACKGROUND = "#0b5394"
FOREGROUND = "#ffffff"
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))
LATIN_FONTS = ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf")
ARABIC_FONTS = ("NotoSansArabic-Bold.ttf", "NotoNaskhArabic-Bold.ttf")

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def _font(names: tuple[str, ...], size: int) -> FontType:
    for folder in FONT_FOLDERS:
        for name in names:
            path = folder / name
            if path.exists():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


@lru_cache(maxsize=64)
def render(title: str, count_line: str) -> bytes:
    """The card for a title and a line of count, as PNG bytes (cached per text)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    rtl = _is_rtl(title)
    title_font = _font(ARABIC_FONTS if rtl else LATIN_FONTS, 64)
    count_font = _font(ARABIC_FONTS if _is_rtl(count_line) else LATIN_FONTS, 44)
    lines = textwrap.wrap(title, width=30)[:4]
    y = MARGIN
    for line in lines:
        anchor, x = ("ra", WIDTH - MARGIN) if rtl else ("la", MARGIN)
        draw.text((x, y), line, font=title_font, fill=FOREGROUND, anchor=anchor)
        y += 90
    count_rtl = _is_rtl(count_line)
    anchor, x = ("rs", WIDTH - MARGIN) if count_rtl else ("ls", MARGIN)
    draw.text((x, HEIGHT - MARGIN), count_line, font=count_font, fill=FOREGROUND, anchor=anchor)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
