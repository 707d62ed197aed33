"""The images posts show: fetched once, sniffed, converted for readers, cached.

Where an image comes from (:func:`load_image`): an http(s) URL (through
:func:`feedconv.sources.load`, which follows redirects to http(s) only, decodes gzip,
caps the body and names itself in the User-Agent), a ``data:`` URI, or a path relative
to the folder of a local feed file (never outside that folder). What it is comes from
its first bytes (:func:`sniff`), never from a header or a file name.

:func:`fetch_images` (used by ``to-md --split``) keeps raster formats only (PNG, JPEG,
GIF, WebP, AVIF, BMP, ICO) and warns once per failed URL. :func:`fetch_all` is the
general form: any :data:`KINDS`, an optional on-disk cache keyed by URL
(:class:`ImageCache`), a ``prepare`` step run in the worker threads, and failures
returned as messages for the caller to report.

:func:`prepare_for_book` makes an image fit for an e-book with Pillow: WebP, AVIF, TIFF,
ICO and BMP become PNG (lossless or transparent) or JPEG (photographs); ``max_size``
scales large images down; SVG is rebuilt through an allowlist (:func:`sanitize_svg`),
so no script, event handler, foreign object or external reference survives.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from lxml import etree

from feedconv.errors import FeedconvError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WORKERS",
    "KINDS",
    "RASTER",
    "Image",
    "ImageCache",
    "fetch_all",
    "fetch_image",
    "fetch_images",
    "load_image",
    "prepare_for_book",
    "sanitize_svg",
    "sniff",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
DEFAULT_WORKERS = 4

PNG: Final = "image/png"
JPEG: Final = "image/jpeg"
GIF: Final = "image/gif"
SVG: Final = "image/svg+xml"
#: Raster formats a browser shows (what ``to-md --split --images download`` keeps).
RASTER: Final = frozenset(
    {PNG, JPEG, GIF, "image/webp", "image/avif", "image/bmp", "image/vnd.microsoft.icon"}
)
#: Every format :func:`sniff` recognises.
KINDS: Final = RASTER | {"image/tiff", SVG}
#: What every EPUB reader shows as it is.
BOOK_FORMATS: Final = frozenset({PNG, JPEG, GIF})
_EXTENSIONS: Final = {
    PNG: "png",
    JPEG: "jpg",
    GIF: "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/bmp": "bmp",
    "image/vnd.microsoft.icon": "ico",
    "image/tiff": "tif",
    SVG: "svg",
}


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    data: bytes
    media_type: str
    extension: str  # without the dot


def sniff(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) of an image, from its first bytes; else None."""
    kind: str | None = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = PNG
    elif data.startswith(b"\xff\xd8\xff"):
        kind = JPEG
    elif data.startswith((b"GIF87a", b"GIF89a")):
        kind = GIF
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "image/webp"
    elif data[4:12] in (b"ftypavif", b"ftypavis"):
        kind = "image/avif"
    elif data.startswith(b"BM") and len(data) > 26:
        kind = "image/bmp"
    elif data.startswith(b"\x00\x00\x01\x00"):
        kind = "image/vnd.microsoft.icon"
    elif data.startswith((b"II*\x00", b"MM\x00*")):
        kind = "image/tiff"
    elif _looks_like_svg(data):
        kind = SVG
    return (kind, _EXTENSIONS[kind]) if kind else None


_SVG_PROLOG = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)\s*)*<svg[\s>/:]",
    re.DOTALL | re.IGNORECASE,
)


def _looks_like_svg(data: bytes) -> bool:
    return bool(_SVG_PROLOG.match(data[:8192]))


def _describe(kinds: frozenset[str]) -> str:
    names = {
        PNG: "PNG",
        JPEG: "JPEG",
        GIF: "GIF",
        "image/webp": "WebP",
        "image/avif": "AVIF",
        "image/bmp": "BMP",
        "image/vnd.microsoft.icon": "ICO",
        "image/tiff": "TIFF",
        SVG: "SVG",
    }
    listed = [names[k] for k in names if k in kinds]
    return ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else listed[0]


# --------------------------------------------------------------------------- loading


class ImageCache:
    """Downloaded image bytes on disk, keyed by URL: an image is fetched once, ever.

    One pair of files per URL: ``<key>.img`` and ``<key>.json`` (the URL and the bytes'
    SHA-256, so a half-written or colliding pair is never trusted). Only bytes that
    sniffed as an image are stored; failures are never remembered.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, url: str) -> bytes | None:
        from feedconv.sources import read_cached

        entry = read_cached(self.folder, url, ".img")
        return entry[1] if entry is not None else None

    def put(self, url: str, data: bytes) -> None:
        from feedconv.errors import OutputError
        from feedconv.sources import write_cached

        try:
            write_cached(self.folder, url, ".img", data, {})
        except (OSError, OutputError) as exc:
            log.warning("cannot update the image cache in %s (%s)", self.folder, exc)


def _data_uri(uri: str, max_bytes: int) -> bytes:
    """The bytes of a ``data:`` URI (base64 or percent-encoded)."""
    header, comma, payload = uri.partition(",")
    if not comma:
        raise FeedconvError("data: URI without a comma")
    if len(payload) > max_bytes * 4 // 3 + 8:
        raise FeedconvError(f"data: URI is larger than the {max_bytes:,}-byte limit")
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode("".join(payload.split()), validate=False)
        except (binascii.Error, ValueError):
            raise FeedconvError("data: URI with broken base64") from None
    return unquote_to_bytes(payload)


def _local_file(ref: str, base_dir: Path, max_bytes: int) -> bytes:
    """A file named by a relative URL, inside ``base_dir`` (and nowhere else)."""
    parts = urlsplit(ref)
    relative = unquote(parts.path)
    if not relative or relative.startswith(("/", "\\")) or parts.netloc:
        raise FeedconvError("not an http(s) URL, a data: URI or a path relative to the feed")
    root = base_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise FeedconvError("path leaves the feed's folder")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise FeedconvError(f"no such file: {path}") from None
    except OSError as exc:
        raise FeedconvError(f"cannot read {path} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise FeedconvError(f"larger than the {max_bytes:,}-byte limit")
    return data


def load_image(
    ref: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    base_dir: Path | None = None,
    cache: ImageCache | None = None,
    kinds: frozenset[str] = KINDS,
) -> Image:
    """The image ``ref`` names: an http(s) URL, a ``data:`` URI or, with ``base_dir``, a
    path relative to it. FeedconvError (one readable line) when it cannot be used."""
    from feedconv.sources import load

    scheme = urlsplit(ref).scheme.lower() if ":" in ref else ""
    cached = False
    if scheme in ("http", "https"):
        data = cache.get(ref) if cache is not None else None
        cached = data is not None
        if data is None:
            data = load(ref, timeout=timeout, max_bytes=max_bytes).data
    elif scheme == "data":
        data = _data_uri(ref, max_bytes)
    elif len(scheme) > 1:  # "c:" would be a Windows drive, not a scheme
        raise FeedconvError(f"{ref}: not an http(s) URL")
    elif base_dir is not None:
        data = _local_file(ref, base_dir, max_bytes)
    else:
        raise FeedconvError(f"{ref}: a relative image path, and the feed is not a local file")
    kind = sniff(data)
    if kind is None or kind[0] not in kinds:
        raise FeedconvError(f"{_short(ref)}: not a {_describe(kinds)} image")
    if cache is not None and scheme in ("http", "https") and not cached:
        cache.put(ref, data)
    return Image(ref, data, kind[0], kind[1])


def _short(ref: str) -> str:
    return ref if len(ref) <= 80 or not ref.startswith("data:") else ref[:60] + "…"


def fetch_image(url: str, *, timeout: float, max_bytes: int) -> Image:
    """Fetch one raster image over http(s); FeedconvError when it cannot be used."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FeedconvError(f"{url}: not an http(s) URL")
    return load_image(url, timeout=timeout, max_bytes=max_bytes, kinds=RASTER)


def fetch_all(
    refs: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    workers: int = DEFAULT_WORKERS,
    base_dir: Path | None = None,
    cache: ImageCache | None = None,
    kinds: frozenset[str] = KINDS,
    prepare: Callable[[Image], Image] | None = None,
) -> dict[str, Image | str]:
    """Load each distinct ``ref`` once, ``workers`` at a time, and run ``prepare`` on it.

    Returns, for every ref, the image or the reason it could not be used (one line).
    Nothing is logged: the caller knows which post to name.
    """
    unique = list(dict.fromkeys(refs))
    if not unique:
        return {}

    def attempt(ref: str) -> Image | str:
        try:
            image = load_image(
                ref,
                timeout=timeout,
                max_bytes=max_bytes,
                base_dir=base_dir,
                cache=cache,
                kinds=kinds,
            )
            return prepare(image) if prepare is not None else image
        except FeedconvError as exc:
            return str(exc)
        except (OSError, ValueError) as exc:  # pragma: no cover - load maps these
            return f"{_short(ref)}: {exc}"

    # Pillow warns about (rather than refuses) images of 89-179 megapixels: refuse them.
    # The filter is process-wide for as long as the workers run, all inside this block.
    with warnings.catch_warnings():
        _refuse_bombs()
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(unique)))) as pool:
            results = list(pool.map(attempt, unique))
    return dict(zip(unique, results, strict=True))


def fetch_images(
    urls: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Image]:
    """Fetch each distinct http(s) URL once, ``workers`` at a time. Returns the raster
    images that could be fetched; every other URL gets one warning."""
    unique = list(dict.fromkeys(urls))
    fetched: dict[str, Image] = {}
    results = fetch_all(
        [u for u in unique if urlsplit(u).scheme.lower() in ("http", "https")],
        timeout=timeout,
        max_bytes=max_bytes,
        workers=workers,
        kinds=RASTER,
    )
    for url in unique:
        result = results.get(url, f"{url}: not an http(s) URL")
        if isinstance(result, Image):
            fetched[url] = result
        else:
            log.warning("image not downloaded, the post keeps its remote URL: %s", result)
    return fetched


# --------------------------------------------------------------------- for a book


def _refuse_bombs() -> None:
    from PIL import Image as PILImage

    warnings.simplefilter("error", PILImage.DecompressionBombWarning)


def parse_size(value: str) -> tuple[int, int]:
    """``"1264x1680"`` → (1264, 1680); ValueError when it is not WIDTHxHEIGHT."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*", value)
    if not match or not int(match.group(1)) or not int(match.group(2)):
        raise ValueError(f"{value!r} is not WIDTHxHEIGHT in pixels, e.g. 1264x1680")
    return int(match.group(1)), int(match.group(2))


def prepare_for_book(
    image: Image,
    *,
    max_size: tuple[int, int] | None = None,
    svg: bool = True,
    jpeg_quality: int = 85,
) -> Image:
    """An image every EPUB reader shows: PNG, JPEG, GIF or (``svg``) sanitised SVG,
    within ``max_size``. FeedconvError when it cannot be decoded or used."""
    if image.media_type == SVG:
        if not svg:
            raise FeedconvError(f"{_short(image.url)}: SVG image (this profile shows no SVG)")
        return Image(image.url, sanitize_svg(image.data, image.url), SVG, "svg")
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    try:
        picture: PILImage.Image = PILImage.open(io.BytesIO(image.data))
        too_big = max_size is not None and (
            picture.width > max_size[0] or picture.height > max_size[1]
        )
        if image.media_type in BOOK_FORMATS and not too_big:
            return image  # shown as it is: keep the original bytes
        picture.load()
        if getattr(picture, "n_frames", 1) > 1:
            picture.seek(0)  # an animation: its first frame, as e-readers show it
        picture = ImageOps.exif_transpose(picture)
        if too_big:
            assert max_size is not None
            picture.thumbnail(max_size, PILImage.Resampling.BICUBIC)
        target = _target_format(image, picture)
        data = _encode(picture, target, jpeg_quality)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FeedconvError(f"{_short(image.url)}: cannot decode the image ({exc})") from None
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise FeedconvError(f"{_short(image.url)}: too many pixels to decode safely") from None
    return Image(image.url, data, target, _EXTENSIONS[target])


def _has_alpha(picture: object) -> bool:
    mode = getattr(picture, "mode", "")
    info = getattr(picture, "info", {})
    return mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in info


def _target_format(image: Image, picture: object) -> str:
    """JPEG for photographs (JPEG, lossy WebP, AVIF) without transparency, else PNG."""
    if _has_alpha(picture):
        return PNG
    if image.media_type == JPEG or image.media_type == "image/avif":
        return JPEG
    if image.media_type == "image/webp":
        lossless = b"VP8L" in image.data[12:40] or b"ALPH" in image.data[:4096]
        return PNG if lossless else JPEG
    return PNG


def _encode(picture: object, target: str, jpeg_quality: int) -> bytes:
    from PIL import Image as PILImage

    assert isinstance(picture, PILImage.Image)
    icc = picture.info.get("icc_profile")
    out = io.BytesIO()
    if target == JPEG:
        if picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        options = {"quality": jpeg_quality, "optimize": True}
        if icc:
            options["icc_profile"] = icc
        picture.save(out, "JPEG", **options)
    else:
        if picture.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            picture = picture.convert("RGBA" if _has_alpha(picture) else "RGB")
        picture.save(out, "PNG", **({"icc_profile": icc} if icc else {}))
    return out.getvalue()


# ----------------------------------------------------------------------------- SVG


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SVG_NS: Final = "http://www.w3.org/2000/svg"
_XLINK_NS: Final = "http://www.w3.org/1999/xlink"
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
#: Static SVG only: no script, animation, foreignObject, image, filter or font element.
_SVG_ELEMENTS: Final = _words(
    "svg g defs title desc symbol use path rect circle ellipse line polyline polygon"
    " text tspan textPath linearGradient radialGradient stop pattern clipPath mask"
    " marker style switch"
)
_SVG_LINKING: Final = frozenset({"use", "textPath", "linearGradient", "radialGradient", "pattern"})
_SVG_RENAMED: Final = {"a": "g"}  # links become plain groups (their children stay)
_SVG_ATTRIBUTES: Final = _words(
    "id class style transform x y x1 y1 x2 y2 cx cy r rx ry width height d points"
    " viewBox preserveAspectRatio fill fill-opacity fill-rule stroke stroke-width"
    " stroke-linecap stroke-linejoin stroke-miterlimit stroke-dasharray"
    " stroke-dashoffset stroke-opacity opacity font-family font-size font-weight"
    " font-style font-variant font-stretch text-anchor dominant-baseline"
    " alignment-baseline baseline-shift letter-spacing word-spacing text-decoration"
    " writing-mode direction unicode-bidi dx dy rotate textLength lengthAdjust"
    " startOffset method spacing offset stop-color stop-opacity gradientUnits"
    " gradientTransform spreadMethod fx fy fr patternUnits patternContentUnits"
    " patternTransform clipPathUnits clip-path clip-rule mask maskUnits"
    " maskContentUnits marker-start marker-mid marker-end markerWidth markerHeight"
    " markerUnits refX refY orient visibility display color overflow"
    " vector-effect shape-rendering text-rendering color-interpolation"
    " paint-order version"
)
_CSS_UNSAFE = re.compile(
    r"@|\\|expression|javascript|behaviou?r|-moz-binding|url\(\s*['\"]?\s*[^#'\"\s]"
)


def _css_safe(css: str) -> bool:
    """CSS that references nothing outside the SVG (``url(#id)`` only) and runs nothing."""
    return not _CSS_UNSAFE.search(css.lower()) and "<" not in css


def sanitize_svg(data: bytes, url: str = "SVG") -> bytes:
    """A static copy of an SVG image: allowlisted elements and attributes only,
    references to its own ids only. FeedconvError when it is not a usable SVG."""
    from feedconv.readers._xml import make_parser

    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        raise FeedconvError(f"{_short(url)}: not well-formed SVG ({exc})") from None
    if etree.QName(root).localname != "svg":
        raise FeedconvError(f"{_short(url)}: not an SVG image")
    clean = _svg_copy(root, None)
    assert clean is not None
    if clean.get("viewBox") is None and clean.get("width") and clean.get("height"):
        width, height = clean.get("width", ""), clean.get("height", "")
        if width.replace(".", "", 1).isdigit() and height.replace(".", "", 1).isdigit():
            clean.set("viewBox", f"0 0 {width} {height}")
    return etree.tostring(clean, xml_declaration=True, encoding="utf-8")


def _svg_copy(source: etree._Element, parent: etree._Element | None) -> etree._Element | None:
    if not isinstance(source.tag, str):
        return None  # comments, processing instructions, entities
    qname = etree.QName(source)
    if qname.namespace not in (_SVG_NS, None):
        return None  # inkscape:, sodipodi:, ... and foreign content
    name = _SVG_RENAMED.get(qname.localname, qname.localname)
    if name not in _SVG_ELEMENTS:
        return None
    if name == "style" and not _css_safe("".join(source.itertext())):
        return None
    if parent is None:
        element = etree.Element(f"{{{_SVG_NS}}}{name}", nsmap={None: _SVG_NS, "xlink": _XLINK_NS})
    else:
        element = etree.SubElement(parent, f"{{{_SVG_NS}}}{name}")
    for attribute, value in source.items():
        attr = etree.QName(attribute)
        value = str(value)
        if attr.namespace in (_XLINK_NS, None) and attr.localname == "href":
            if value.strip().startswith("#") and name in _SVG_LINKING:
                element.set(f"{{{_XLINK_NS}}}href", value.strip())  # its own ids only
            continue
        if attr.namespace == _XML_NS and attr.localname in ("space", "lang"):
            element.set(str(attribute), value)
            continue
        if attr.namespace is not None or attr.localname not in _SVG_ATTRIBUTES:
            continue
        if ("url(" in value.lower() or attr.localname == "style") and not _css_safe(value):
            continue
        element.set(attr.localname, value)
    if name == "style":
        element.text = "".join(source.itertext())
        return element
    element.text = source.text
    for child in source:
        copied = _svg_copy(child, element)
        if copied is not None:
            copied.tail = child.tail
    return element
