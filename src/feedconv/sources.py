"""Where feed bytes come from: a path, ``-`` for stdin, or an http(s)/file URL."""

from __future__ import annotations

import gzip
import io
import sys
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import unquote, urlsplit

from feedconv import __version__
from feedconv.errors import InputError

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"feedconv/{__version__} (+https://pypi.org/project/feedconv/)"


@dataclass(frozen=True, slots=True)
class Source:
    data: bytes
    url: str | None  # absolute http(s) URL the bytes came from, for relative links
    charset: str | None = None  # charset the server declared, if any
    name: str = "-"  # how to name the source in messages


def load(
    source: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES
) -> Source:
    """Read the feed named by ``source``: a path, ``-`` (stdin) or a URL."""
    if source == "-":
        return Source(_read_limited(sys.stdin.buffer, max_bytes, "stdin"), None, name="stdin")
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch(source, timeout=timeout, max_bytes=max_bytes)
    if scheme == "file":
        return _read_path(Path(unquote(urlsplit(source).path)), max_bytes)
    if "://" in source:
        raise InputError(f"{source}: unsupported URL scheme {scheme!r} (use http, https or file)")
    return _read_path(Path(source), max_bytes)


def _read_path(path: Path, max_bytes: int) -> Source:
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a feed file")
        with path.open("rb") as handle:
            data = _read_limited(handle, max_bytes, str(path))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return Source(data, None, name=str(path))


def _read_limited(handle, max_bytes: int, name: str) -> bytes:  # type: ignore[no-untyped-def]
    data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{name}: input is larger than the {max_bytes:,}-byte limit")
    return bytes(data)


def _fetch(url: str, *, timeout: float, max_bytes: int) -> Source:
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/atom+xml, application/rss+xml, application/feed+json, "
            "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = _read_limited(response, max_bytes, url)
            headers: Message = response.headers
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        raise InputError(f"{url}: HTTP error {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise InputError(f"{url}: cannot fetch ({exc.reason})") from None
    except TimeoutError:
        raise InputError(f"{url}: timed out after {timeout:g} s") from None
    except OSError as exc:
        raise InputError(f"{url}: cannot fetch ({exc})") from None
    data = _decode_body(raw, headers.get("Content-Encoding", ""), url, max_bytes)
    return Source(data, final_url, charset=headers.get_content_charset(), name=url)


def _decode_body(raw: bytes, encoding: str, url: str, max_bytes: int) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                return _read_limited(stream, max_bytes, url)
        if encoding == "deflate":
            decompressor = zlib.decompressobj()
            try:
                data = decompressor.decompress(raw, max_bytes + 1)
            except zlib.error:
                decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                data = decompressor.decompress(raw, max_bytes + 1)
            if len(data) > max_bytes:
                raise InputError(f"{url}: input is larger than the {max_bytes:,}-byte limit")
            return data
    except (OSError, EOFError, zlib.error):
        raise InputError(f"{url}: the server sent a corrupt {encoding} body") from None
    return raw
