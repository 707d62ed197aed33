"""A generated cover: the title, the date range and the site on a calm colour (Pillow).

1600 × 2560 pixels (the 1:1.6 shape stores and e-readers expect), PNG. The colour comes
from the title, so a feed keeps its colour from one book to the next. Text is drawn
with the font Pillow ships (Latin script); text in another script uses the first
installed font that has all its characters (DejaVu, Noto, ...), and a title no font
can draw is left off the image (the title page still has it) rather than drawn as boxes.
"""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path
from typing import Any, Final

WIDTH: Final = 1600
HEIGHT: Final = 2560
_MARGIN: Final = 150
# (background, accent, text, soft text): dark, quiet colours with light text.
_PALETTES: Final = (
    ((28, 52, 84), (224, 170, 82), (250, 247, 240), (196, 208, 222)),
    ((44, 62, 54), (214, 186, 120), (248, 246, 238), (196, 212, 200)),
    ((92, 38, 44), (236, 196, 140), (252, 244, 236), (232, 200, 200)),
    ((40, 40, 48), (120, 190, 200), (246, 246, 250), (200, 200, 212)),
    ((62, 44, 86), (230, 180, 110), (250, 246, 252), (214, 202, 228)),
    ((24, 70, 80), (240, 200, 120), (244, 250, 250), (190, 220, 222)),
)
# Installed fonts tried, in order, for characters the bundled font lacks.
_SYSTEM_FONTS: Final = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:/Windows/Fonts/arialuni.ttf",
)


def _font(source: str | None, size: int) -> Any:
    from PIL import ImageFont

    if source is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(source, size=size)


def _fonts() -> list[str | None]:
    """The bundled font (None), then the installed fallbacks."""
    return [None, *(path for path in _SYSTEM_FONTS if Path(path).is_file())]


def _ink(font: Any, text: str) -> bytes:
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (96, 96))
    ImageDraw.Draw(canvas).text((8, 8), text, font=font, fill=255)
    return canvas.tobytes()


@cache
def _covers(source: str | None, char: str) -> bool:
    """Whether the font draws ``char`` with a glyph of its own (not the missing-glyph box)."""
    font = _font(source, 48)
    return _ink(font, char) != _ink(font, "\U0010fffd")


_NO_FONT: Final = "no font"


def _font_for(text: str) -> str | None:
    """The first font that has every character of ``text`` (None: the bundled one);
    :data:`_NO_FONT` when none has."""
    chars = {c for c in text if not c.isspace() and c.isprintable()}
    for source in _fonts():
        if all(_covers(source, c) for c in chars):
            return source
    return _NO_FONT


def _wrap(text: str, font: Any, width: int, draw: Any) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (words; characters for CJK text)."""
    words = text.split()
    if len(words) == 1 or any(draw.textlength(w, font=font) > width for w in words):
        units, joiner = list(text), ""  # no spaces to break at: break between characters
    else:
        units, joiner = words, " "
    lines: list[str] = []
    line = ""
    for unit in units:
        candidate = unit if not line else line + joiner + unit
        if draw.textlength(candidate, font=font) <= width or not line:
            line = candidate
        else:
            lines.append(line.strip())
            line = unit
    if line.strip():
        lines.append(line.strip())
    return lines


def _fit(text: str, source: str | None, draw: Any) -> tuple[Any, list[str]]:
    """The largest font size at which ``text`` takes at most five lines."""
    width = WIDTH - 2 * _MARGIN
    for size in range(176, 63, -8):
        font = _font(source, size)
        lines = _wrap(text, font, width, draw)
        if len(lines) <= 5 and all(draw.textlength(x, font=font) <= width for x in lines):
            return font, lines
    font = _font(source, 64)
    lines = _wrap(text, font, width, draw)
    return font, lines[:6] if len(lines) <= 6 else [*lines[:5], lines[5] + "…"]


def _centred(draw: Any, y: float, line: str, font: Any, fill: tuple[int, ...], bold: int) -> None:
    left, _, right, _ = draw.textbbox((0, 0), line, font=font, stroke_width=bold)
    x = (WIDTH - (right - left)) / 2 - left
    draw.text((x, y), line, font=font, fill=fill, stroke_width=bold, stroke_fill=fill)


def make_cover(title: str, subtitle: str, site: str) -> bytes:
    """The cover image (PNG bytes) for a book called ``title``."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(title.encode("utf-8")).digest()
    background, accent, ink, soft = _PALETTES[digest[0] % len(_PALETTES)]
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 56), fill=accent)
    draw.rectangle((0, HEIGHT - 56, WIDTH, HEIGHT), fill=accent)
    draw.rectangle((_MARGIN, 360, _MARGIN + 180, 372), fill=accent)

    y = 470.0
    title_font = _font_for(title) if title else _NO_FONT
    if title_font != _NO_FONT:
        font, lines = _fit(title, title_font, draw)
        ascent, descent = font.getmetrics()
        step = (ascent + descent) * 1.12
        for line in lines:
            _centred(draw, y, line, font, ink, bold=max(1, font.size // 60))
            y += step
        y += 90
    rule = (WIDTH // 2 - 120, int(y), WIDTH // 2 + 120, int(y) + 8)
    draw.rectangle(rule, fill=accent)
    y += 110
    subtitle_font = _font_for(subtitle) if subtitle else _NO_FONT
    if subtitle_font != _NO_FONT:
        font, lines = _fit_small(subtitle, subtitle_font, 68, draw)
        for line in lines:
            _centred(draw, y, line, font, soft, bold=0)
            y += 68 * 1.4
    site_font = _font_for(site) if site else _NO_FONT
    if site_font != _NO_FONT:
        font, lines = _fit_small(site, site_font, 56, draw)
        y = HEIGHT - 240 - 80 * (len(lines) - 1)
        for line in lines:
            _centred(draw, y, line, font, soft, bold=0)
            y += 80
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _fit_small(text: str, source: str | None, size: int, draw: Any) -> tuple[Any, list[str]]:
    font = _font(source, size)
    lines = _wrap(text, font, WIDTH - 2 * _MARGIN, draw)
    return font, lines[:2]
