"""OPML subscription lists → the feed URLs they hold, in document order.

Every ``outline`` with an ``xmlUrl`` is a subscription, however deeply folders nest
them. Relative URLs are resolved against where the OPML came from. A list fetched over
http(s) may only name http(s) feeds (a web page must not make feedconv read local
files); a local list may also name ``file:`` URLs and relative paths.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from feedconv.errors import InputError
from feedconv.readers._common import local_name
from feedconv.readers._xml import parse_xml

log = logging.getLogger(__name__)

__all__ = ["Subscription", "read_opml"]

_REMOTE = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    title: str | None = None


def read_opml(data: bytes, base: str | None = None) -> list[Subscription]:
    """The subscriptions of an OPML document. ``base`` is the absolute URL (http(s) or
    ``file:``) of the document itself; None when it came from standard input."""
    root = parse_xml(data)
    if local_name(root).lower() != "opml":
        raise InputError(f"not an OPML subscription list: the root element is <{local_name(root)}>")
    base_scheme = urlsplit(base).scheme.lower() if base else ""
    allowed = _REMOTE if base_scheme in _REMOTE else _REMOTE | {"file"}
    found: list[Subscription] = []
    seen: set[str] = set()
    for outline in root.iter():
        if local_name(outline).lower() != "outline":
            continue
        attributes = {name.lower(): value for name, value in outline.attrib.items()}
        raw = " ".join(str(attributes.get("xmlurl", "")).split())
        if not raw:
            continue
        title = " ".join(str(attributes.get("title") or attributes.get("text") or "").split())
        url = urljoin(base, raw) if base else raw
        scheme = urlsplit(url).scheme.lower()
        if scheme not in allowed:
            reason = (
                "a relative URL needs the list's location (it came from standard input)"
                if not scheme
                else f"{scheme!r} URLs are not allowed here"
            )
            log.warning("OPML subscription %r skipped: %s", raw, reason)
            continue
        if url not in seen:
            seen.add(url)
            found.append(Subscription(url, title or None))
    if not found:
        raise InputError("the OPML list has no feed subscriptions (outline elements with xmlUrl)")
    return found
