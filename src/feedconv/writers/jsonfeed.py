"""The feed model as JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from feedconv.model import Author, Enclosure, Entry, Feed

VERSION = "https://jsonfeed.org/version/1.1"


def rfc3339(value: datetime) -> str:
    """RFC 3339 with the original offset and seconds precision."""
    return value.replace(microsecond=0).isoformat()


def author_dict(author: Author) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if author.name or author.email:
        out["name"] = author.name or author.email
    if author.url:
        out["url"] = author.url
    elif author.email:
        out["url"] = f"mailto:{author.email}"
    return out


def attachment_dict(enclosure: Enclosure) -> dict[str, Any]:
    out: dict[str, Any] = {"url": enclosure.url}
    out["mime_type"] = enclosure.media_type or "application/octet-stream"
    if enclosure.title:
        out["title"] = enclosure.title
    if enclosure.length:
        out["size_in_bytes"] = enclosure.length
    if enclosure.duration:
        out["duration_in_seconds"] = enclosure.duration
    return out


def item_dict(entry: Entry) -> dict[str, Any]:
    """One JSON Feed item. Keys appear in a fixed order; unknown values are omitted."""
    fields: list[tuple[str, Any]] = [
        ("id", entry.id),
        ("url", entry.link),
        ("external_url", entry.external_url),
        ("title", entry.title),
        ("content_html", entry.content_html),
        # JSON Feed requires content_html or content_text on every item.
        ("content_text", entry.content_text if entry.content_html is None else None),
        ("summary", entry.summary),
        ("image", entry.image),
        ("date_published", rfc3339(entry.published) if entry.published else None),
        ("date_modified", rfc3339(entry.updated) if entry.updated else None),
        ("authors", [author_dict(a) for a in entry.authors] or None),
        ("tags", list(entry.categories) or None),
        ("language", entry.language),
        ("attachments", [attachment_dict(e) for e in entry.enclosures] or None),
        # JSON Feed extension (keys starting with "_"): the feed a merged item came from.
        ("_feedconv", {"source": entry.source} if entry.source else None),
    ]
    out = {key: value for key, value in fields if value is not None}
    if "content_html" not in out and "content_text" not in out:
        out["content_text"] = ""
    return out


def feed_dict(feed: Feed, entries: Iterable[Entry] | None = None) -> dict[str, Any]:
    fields: list[tuple[str, Any]] = [
        ("version", VERSION),
        ("title", feed.title or ""),
        ("home_page_url", feed.home_page_url),
        ("feed_url", feed.feed_url),
        ("description", feed.description),
        ("icon", feed.icon),
        ("favicon", feed.favicon),
        ("authors", [author_dict(a) for a in feed.authors] or None),
        ("language", feed.language),
    ]
    out = {key: value for key, value in fields if value is not None}
    out["items"] = [item_dict(e) for e in (feed.entries if entries is None else entries)]
    return out


def dump_feed(feed: Feed, entries: Iterable[Entry] | None = None) -> str:
    """The whole feed as one pretty-printed JSON Feed document, ending in a newline."""
    return "".join(iter_document(feed, entries))


def iter_document(feed: Feed, entries: Iterable[Entry] | None = None) -> Iterator[str]:
    """The JSON Feed document in pieces, one item at a time, so that a streamed feed
    is never held whole. The bytes are those of ``json.dumps(feed_dict(feed),
    indent=2)`` plus a final newline."""
    head = feed_dict(feed, ())
    del head["items"]
    opening = json.dumps(head, ensure_ascii=False, indent=2)
    # '{\n  "version": …\n}' → everything up to the closing brace, then the items.
    prefix = opening[:-2] + ',\n  "items": ['
    first = True
    for entry in feed.entries if entries is None else entries:
        item = pretty(item_dict(entry), "    ")
        yield ("" if not first else prefix) + ("\n    " if first else ",\n    ") + item
        first = False
    yield (prefix + "]\n}\n") if first else "\n  ]\n}\n"


# Leaves (strings above all) go through json's C encoder; the Python encoder that
# json.dumps uses whenever it indents costs more than the rest of to-json together.
_LEAF = json.JSONEncoder(ensure_ascii=False).encode


def pretty(value: Any, margin: str = "") -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, byte for byte, with every
    line after the first starting with ``margin``."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = margin + "  "
        parts = [f"{_LEAF(key)}: {pretty(item, inner)}" for key, item in value.items()]
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + margin + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = margin + "  "
        parts = [pretty(item, inner) for item in value]
        return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + margin + "]"
    return _LEAF(value)


def dump_lines(entries: Iterable[Entry]) -> Iterator[str]:
    """One compact JSON item per line (JSON Lines), for streaming through pipelines."""
    for entry in entries:
        yield json.dumps(item_dict(entry), ensure_ascii=False, separators=(",", ":")) + "\n"
