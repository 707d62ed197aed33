"""Readers: detect the feed format from the content and dispatch to one reader."""

from __future__ import annotations

from feedconv.errors import InputError
from feedconv.model import Feed
from feedconv.readers import atom, jsonfeed, rss
from feedconv.readers._common import NS, local_name, namespace, normalize_namespaces
from feedconv.readers._xml import parse_xml

_JSON_START = (b"{", b"[")


def read_feed(
    data: bytes,
    url: str | None = None,
    *,
    http_charset: str | None = None,
    unescape_twice: bool = False,
) -> Feed:
    """Read RSS, Atom or JSON Feed bytes into a :class:`Feed`.

    ``url`` is where the bytes came from (for relative links); the format is detected
    from the content, never from a name. ``unescape_twice``: bodies that are HTML
    escaped twice are read as HTML (by default they stay text, with a warning).
    """
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in _JSON_START:
        return jsonfeed.read(data, url, unescape_twice=unescape_twice)
    root = parse_xml(data, base_url=url, http_charset=http_charset)
    normalize_namespaces(root, data)
    name = local_name(root)
    ns = namespace(root)
    if name == "feed" and ns in (NS["atom"], NS["atom03"], None):
        return atom.read(root, url, unescape_twice=unescape_twice)
    if name in ("rss", "RDF", "channel"):
        return rss.read(root, url, unescape_twice=unescape_twice)
    raise InputError(f"not a feed: the document's root element is <{name}>")


__all__ = ["read_feed"]
