"""JSON Feed 1.0 and 1.1 (and feedconv's own one-item-per-line output) into the model."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from feedconv.errors import InputError
from feedconv.model import Author, Enclosure, Entry, Feed
from feedconv.readers import _common as c
from feedconv.readers.dates import parse_date

log = logging.getLogger(__name__)


def loads(data: bytes) -> Any:
    """Decode JSON bytes: one document, or JSON lines (one item object per line)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("JSON input is not valid UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            try:
                items = [json.loads(line) for line in lines]
            except json.JSONDecodeError:
                pass
            else:
                if all(isinstance(item, dict) for item in items):
                    return {"items": items, "_lines": True}
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InputError(f"not valid JSON: {exc.msg} ({where})") from None
    except RecursionError:
        raise InputError("JSON input is nested too deeply") from None


def read(data: bytes, feed_url: str | None, *, unescape_twice: bool = False) -> Feed:
    doc = loads(data)
    if isinstance(doc, dict) and "items" not in doc and "id" in doc:
        doc = {"items": [doc], "_lines": True}  # a single item from `to-json --lines`
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        raise InputError("JSON input is not a JSON Feed (no 'items' list)")
    version = _string(doc.get("version")) or ""
    if "_lines" in doc:
        fmt = "json-lines"
    elif version.endswith("/1"):
        fmt = "json1.0"
    elif version.endswith("/1.1"):
        fmt = "json1.1"
    elif "jsonfeed.org" in version:
        fmt = "json1.x"
    else:
        raise InputError("JSON input is not a JSON Feed (missing 'version')")
    home = _url(doc.get("home_page_url"), feed_url)
    own_url = _url(doc.get("feed_url"), feed_url)
    authors = _authors(doc, home)
    return Feed(
        title=c.plain(_string(doc.get("title"))),
        format=fmt,
        home_page_url=home,
        feed_url=own_url or feed_url,
        description=c.plain(_string(doc.get("description"))),
        language=_string(doc.get("language")),
        authors=authors,
        icon=_url(doc.get("icon"), home),
        favicon=_url(doc.get("favicon"), home),
        entries=tuple(
            iter_entries(doc.get("items") or [], home, feed_url, authors, unescape_twice)
        ),
    )


def iter_entries(
    items: list[Any],
    home: str | None,
    feed_url: str | None,
    feed_authors: tuple[Author, ...],
    unescape_twice: bool = False,
) -> Iterator[Entry]:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            log.warning("JSON Feed item %d is not an object; skipped", index + 1)
            continue
        yield read_item(item, home, feed_url, feed_authors, unescape_twice)


def read_item(
    item: dict[str, Any],
    home: str | None,
    feed_url: str | None,
    feed_authors: tuple[Author, ...],
    unescape_twice: bool = False,
) -> Entry:
    site = home or feed_url
    link = _url(item.get("url"), site)
    base = link if c.is_absolute_http(link) else (home if c.is_absolute_http(home) else feed_url)
    title = c.plain_title(_string(item.get("title")))
    published = parse_date(_string(item.get("date_published")))
    updated = parse_date(_string(item.get("date_modified")))
    content_html = c.clean_body(
        _string(item.get("content_html")), base, title or link, unescape_twice=unescape_twice
    )
    content_text = _string(item.get("content_text"))
    content_text = c.strip_controls(content_text) if content_text and content_text.strip() else None
    summary = c.plain(_string(item.get("summary")))
    raw_id = item.get("id")
    entry_id = str(raw_id).strip() if isinstance(raw_id, (str, int, float)) else ""
    if not entry_id:
        entry_id = link or c.stable_id(title, published, content_html, content_text)
    tags = item.get("tags")
    categories = c.unique(
        c.plain(tag) for tag in (tags if isinstance(tags, list) else []) if isinstance(tag, str)
    )
    return Entry(
        id=entry_id,
        title=title,
        link=link,
        external_url=_url(item.get("external_url"), base),
        authors=_authors(item, base) or feed_authors,
        published=published,
        updated=updated,
        categories=categories,
        enclosures=tuple(_attachments(item.get("attachments"), base)),
        summary=summary,
        content_html=content_html,
        content_text=None if content_html else content_text,
        image=_url(item.get("image"), base) or _url(item.get("banner_image"), base),
        language=_string(item.get("language")),
        source=_source(item.get("_feedconv")),
    )


def _source(extension: Any) -> str | None:
    """The feed a merged item came from, as feedconv's own JSON Feed extension says."""
    if isinstance(extension, dict):
        return c.plain(_string(extension.get("source")))
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _url(value: Any, base: str | None) -> str | None:
    return c.resolve(_string(value), base)


def _authors(obj: dict[str, Any], base: str | None) -> tuple[Author, ...]:
    raw = obj.get("authors")
    people = raw if isinstance(raw, list) else []
    if not people and isinstance(obj.get("author"), dict):
        people = [obj["author"]]
    return c.unique_authors(
        Author(
            name=c.plain(_string(p.get("name"))),
            url=_url(p.get("url"), base),
        )
        for p in people
        if isinstance(p, dict)
    )


def _attachments(raw: Any, base: str | None) -> Iterator[Enclosure]:
    if not isinstance(raw, list):
        return
    for att in raw:
        if not isinstance(att, dict):
            continue
        url = _url(att.get("url"), base)
        if not url:
            continue
        yield Enclosure(
            url=url,
            media_type=_string(att.get("mime_type")),
            length=_count(att.get("size_in_bytes")),
            title=c.plain(_string(att.get("title"))),
            duration=_count(att.get("duration_in_seconds")),
        )


def _count(value: Any) -> int | None:
    """A non-negative whole number from JSON, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    try:
        return int(value)
    except (OverflowError, ValueError):  # inf, nan
        return None
