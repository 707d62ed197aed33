"""Where feed bytes come from: a path, ``-`` for stdin, or an http(s)/file URL.

HTTP fetching follows redirects (http and https only, at most 10), asks for and decodes
gzip/deflate, caps the body size, names itself in the User-Agent, and — given a cache
folder — remembers ``ETag`` / ``Last-Modified`` so the next fetch is a conditional GET
and an unchanged feed costs the server a ``304 Not Modified``. The caller chooses the
cache folder (the CLI uses ``$XDG_CACHE_HOME/feedconv/http``); this module reads no
environment.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import sys
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from feedconv import __version__
from feedconv.errors import InputError, OutputError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
USER_AGENT = f"feedconv/{__version__} (+https://pypi.org/project/feedconv/)"


@dataclass(frozen=True, slots=True)
class Source:
    data: bytes
    url: str | None  # absolute http(s) URL the bytes came from, for relative links
    charset: str | None = None  # charset the server declared, if any
    name: str = "-"  # how to name the source in messages


def load(
    source: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    cache_dir: Path | None = None,
) -> Source:
    """Read the feed named by ``source``: a path, ``-`` (stdin) or a URL.

    ``cache_dir``, when given, holds the conditional-GET cache for http(s) URLs.
    """
    if source == "-":
        return Source(_read_limited(sys.stdin.buffer, max_bytes, "stdin"), None, name="stdin")
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch(source, timeout=timeout, max_bytes=max_bytes, cache_dir=cache_dir)
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


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only (urllib would also follow ftp://)."""

    max_redirections = 10

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            fp.close()
            raise InputError(f"{req.full_url}: redirected to a URL that is not http(s): {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects())


def _fetch(url: str, *, timeout: float, max_bytes: int, cache_dir: Path | None = None) -> Source:
    headers_out = {
        "User-Agent": USER_AGENT,
        "Accept": "application/atom+xml, application/rss+xml, application/feed+json, "
        "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        "Accept-Encoding": "gzip, deflate",
    }
    cached = _cache_read(cache_dir, url) if cache_dir else None
    if cached is not None:
        if cached.etag:
            headers_out["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers_out["If-Modified-Since"] = cached.last_modified
    request = urllib.request.Request(url, headers=headers_out)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            raw = _read_limited(response, max_bytes, url)
            headers: Message = response.headers
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 304 and cached is not None:
            log.info("%s: not modified since the last fetch; using the cached copy", url)
            return Source(cached.data, cached.final_url, charset=cached.charset, name=url)
        raise InputError(f"{url}: HTTP error {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise InputError(f"{url}: cannot fetch ({exc.reason})") from None
    except TimeoutError:
        raise InputError(f"{url}: timed out after {timeout:g} s") from None
    except OSError as exc:
        raise InputError(f"{url}: cannot fetch ({exc})") from None
    data = _decode_body(raw, headers.get("Content-Encoding", ""), url, max_bytes)
    source = Source(data, final_url, charset=headers.get_content_charset(), name=url)
    if cache_dir is not None:
        _cache_write(cache_dir, url, source, headers.get("ETag"), headers.get("Last-Modified"))
    return source


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


# --------------------------------------------------------------------------- HTTP cache
# One pair of files per URL: <key>.body (the decoded body) and <key>.json (validators,
# final URL, charset and the body's SHA-256, so a half-written pair is never trusted).


@dataclass(frozen=True, slots=True)
class _Cached:
    data: bytes
    final_url: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None


def read_cached(folder: Path, url: str, suffix: str) -> tuple[dict[str, Any], bytes] | None:
    """One on-disk cache entry for ``url``: its metadata and bytes, or None when it is
    missing, damaged or not for this URL. A pair of files per URL, ``<key>.json`` and
    ``<key><suffix>``; the metadata holds the URL and the bytes' SHA-256, so a
    half-written or colliding pair is never trusted."""
    meta_path, data_path = _entry_paths(folder, url, suffix)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = data_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("url") != url:
        return None
    if meta.get("sha256") != hashlib.sha256(data).hexdigest():
        return None
    return meta, data


def write_cached(
    folder: Path, url: str, suffix: str, data: bytes, meta: dict[str, Any] | None
) -> None:
    """Store (or with ``meta=None`` forget) the entry :func:`read_cached` reads.
    Raises OSError or OutputError."""
    from feedconv.writers._files import atomic_write

    meta_path, data_path = _entry_paths(folder, url, suffix)
    if meta is None:
        meta_path.unlink(missing_ok=True)
        data_path.unlink(missing_ok=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    record = {"url": url, **meta, "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write(data_path, data, force=True)
    atomic_write(meta_path, json.dumps(record, indent=1).encode("utf-8"), force=True)


def _entry_paths(folder: Path, url: str, suffix: str) -> tuple[Path, Path]:
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]
    return folder / f"{key}.json", folder / f"{key}{suffix}"


def _cache_read(cache_dir: Path, url: str) -> _Cached | None:
    entry = read_cached(cache_dir, url, ".body")
    if entry is None:
        return None
    meta, data = entry

    def text(key: str) -> str | None:
        value = meta.get(key)
        return value if isinstance(value, str) and value else None

    return _Cached(data, text("final_url"), text("charset"), text("etag"), text("last_modified"))


def _cache_write(
    cache_dir: Path, url: str, source: Source, etag: str | None, last_modified: str | None
) -> None:
    # Nothing to revalidate with: a stale pair would only waste space, so it goes.
    meta = (
        {
            "final_url": source.url,
            "charset": source.charset,
            "etag": etag,
            "last_modified": last_modified,
        }
        if etag or last_modified
        else None
    )
    try:
        write_cached(cache_dir, url, ".body", source.data, meta)
    except (OSError, OutputError) as exc:
        log.warning("cannot update the HTTP cache in %s (%s)", cache_dir, exc)
