"""Downloading the images posts show: concurrent, size-capped, timed out, and sniffed.

Only http(s) URLs are fetched (through :func:`feedconv.sources.load`, which follows
redirects to http(s) only, decodes gzip and caps the body). A response is kept only when
its first bytes are a raster image format (PNG, JPEG, GIF, WebP, AVIF, BMP, ICO); SVG and
anything else is refused, so no active content is ever saved. Each failure is one
warning naming the URL; the caller keeps the remote URL for that image.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedconv.errors import FeedconvError

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "DEFAULT_WORKERS", "Image", "fetch_images"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
DEFAULT_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    data: bytes
    media_type: str
    extension: str  # without the dot


def sniff(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) of a raster image, from its first bytes; else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif", "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif", "avif"
    if data.startswith(b"BM") and len(data) > 26:
        return "image/bmp", "bmp"
    if data.startswith(b"\x00\x00\x01\x00"):
        return "image/vnd.microsoft.icon", "ico"
    return None


def fetch_image(url: str, *, timeout: float, max_bytes: int) -> Image:
    """Fetch one image; FeedconvError (one readable line) when it cannot be used."""
    from feedconv.sources import load

    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FeedconvError(f"{url}: not an http(s) URL")
    data = load(url, timeout=timeout, max_bytes=max_bytes).data
    kind = sniff(data)
    if kind is None:
        raise FeedconvError(f"{url}: not a PNG, JPEG, GIF, WebP, AVIF, BMP or ICO image")
    return Image(url, data, kind[0], kind[1])


def fetch_images(
    urls: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Image]:
    """Fetch each distinct URL once, ``workers`` at a time. Returns the images that
    could be fetched; every other URL gets one warning."""
    unique = list(dict.fromkeys(urls))
    if not unique:
        return {}

    def attempt(url: str) -> Image | str:
        try:
            return fetch_image(url, timeout=timeout, max_bytes=max_bytes)
        except FeedconvError as exc:
            return str(exc)
        except (OSError, ValueError) as exc:  # pragma: no cover - load maps these
            return f"{url}: {exc}"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(attempt, unique))
    fetched: dict[str, Image] = {}
    for url, result in zip(unique, results, strict=True):
        if isinstance(result, Image):
            fetched[url] = result
        else:
            log.warning("image not downloaded, the post keeps its remote URL: %s", result)
    return fetched
