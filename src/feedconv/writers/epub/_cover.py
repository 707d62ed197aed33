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
# Installed font families tried, in order, for the cover's text: (regular, bold).
_FAMILIES: Final = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf"),
    (
        "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
        "NotoSansDevanagari-Bold.ttf",
    ),
    ("/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf"),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", ""),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", ""),
    ("/usr/share/fonts/truetype/freefont/FreeSans.ttf", "FreeSansBold.ttf"),
    ("/System/Library/Fonts/Supplemental/Arial Unicode.ttf", ""),
    ("C:/Windows/Fonts/arialuni.ttf", ""),
)
_Family = tuple[str | None, str | None]  # (regular, bold); None: the font Pillow ships


def _font(source: str | None, size: int) -> Any:
    from PIL import ImageFont

    if source is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(source, size=size)


def _families() -> list[_Family]:
    """The installed families, then the font Pillow ships (basic Latin only)."""
    found: list[_Family] = []
    for regular, bold in _FAMILIES:
        if Path(regular).is_file():
            bold_path = Path(regular).with_name(bold) if bold else None
            found.append((regular, str(bold_path) if bold_path and bold_path.is_file() else None))
    return [*found, (None, None)]


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


def _family_for(text: str) -> _Family | None:
    """The first family whose regular font has every character of ``text``."""
    chars = {c for c in text if not c.isspace() and c.isprintable()}
    for family in _families():
        if all(_covers(family[0], c) for c in chars):
            return family
    return None


# Punctuation that must not start a line of CJK text (it stays with the line before).
_NO_LINE_START: Final = frozenset("、。，．・：；？！）」』】〉》〕…ー")


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
        fits = draw.textlength(candidate, font=font) <= width
        if fits or not line or (not joiner and unit in _NO_LINE_START):
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
    """The cover image (PNG bytes) for a book called ``title``; one font family draws
    all its text (a title no installed font can draw is left off)."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(title.encode("utf-8")).digest()
    background, accent, ink, soft = _PALETTES[digest[0] % len(_PALETTES)]
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 56), fill=accent)
    draw.rectangle((0, HEIGHT - 56, WIDTH, HEIGHT), fill=accent)

    family = _family_for(title + site)
    if family is None:
        title = ""
        family = _family_for(site) or (None, None)
    regular, bold = family
    sub_family = family if _family_for(subtitle) == family else _family_for(subtitle)
    title_font, title_lines = _fit(title, bold or regular, draw) if title else (None, [])
    step = 0.0
    if title_font is not None:
        ascent, descent = title_font.getmetrics()
        step = (ascent + descent) * 1.1
    sub_font = _font(sub_family[0] if sub_family else None, 68)
    sub_lines = _wrap(subtitle, sub_font, WIDTH - 2 * _MARGIN, draw)[:3] if sub_family else []
    block = step * len(title_lines) + 200 + 68 * 1.45 * len(sub_lines)
    y = max(260.0, HEIGHT * 0.42 - block / 2)
    for line in title_lines:
        assert title_font is not None
        fake_bold = 0 if bold else max(1, title_font.size // 60)
        _centred(draw, y, line, title_font, ink, bold=fake_bold)
        y += step
    y += 80
    draw.rectangle((WIDTH // 2 - 120, int(y), WIDTH // 2 + 120, int(y) + 8), fill=accent)
    y += 120
    for line in sub_lines:
        _centred(draw, y, line, sub_font, soft, bold=0)
        y += 68 * 1.45
    if site:
        site_font = _font(regular, 56)
        _centred(
            draw,
            HEIGHT - 250,
            _wrap(site, site_font, WIDTH - 2 * _MARGIN, draw)[0],
            site_font,
            soft,
            bold=0,
        )
    out = io.BytesIO()
    # zlib's default level: within 3% of optimize=True's size at under half its time.
    image.save(out, "PNG")
    return out.getvalue()
