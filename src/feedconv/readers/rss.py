"""RSS 0.90, 0.91, 0.92, 2.0 and RSS 1.0 (RDF) into the feed model."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import replace

from lxml import etree

from feedconv.model import Author, Enclosure, Entry, Feed
from feedconv.readers import _common as c
from feedconv.readers._common import NS, q

# RSS core elements may sit in no namespace, the RSS 1.0 or 0.90 namespace, or the
# Userland RSS 2 namespace: each core name matches all of them.
_CORE_NAMESPACES = (None, NS["rss1"], NS["rss090"], NS["userland"])


def _core(name: str) -> tuple[str, ...]:
    return tuple(name if ns is None else f"{{{ns}}}{name}" for ns in _CORE_NAMESPACES)


TITLE = _core("title")
LINK = _core("link")
DESCRIPTION = _core("description")
ITEM = _core("item")
CHANNEL = _core("channel")
GUID = _core("guid")
AUTHOR = _core("author")
CATEGORY = _core("category")
ENCLOSURE = _core("enclosure")
PUBDATE = _core("pubDate")
LANGUAGE = _core("language")
MANAGING_EDITOR = _core("managingEditor")
LAST_BUILD = _core("lastBuildDate")
IMAGE = _core("image")
URL = _core("url")

ATOM_LINK = (q("atom", "link"),)
DATE_PUBLISHED = (*PUBDATE, q("dc", "date"), q("dcterms", "issued"), q("dcterms", "created"))
DATE_UPDATED = (q("dcterms", "modified"), q("atom", "updated"))
CREATORS = (q("dc", "creator"), q("itunes", "author"))


def detect_version(root: etree._Element) -> str:
    name = c.local_name(root)
    if name == "RDF":
        for child in root:
            if c.namespace(child) == NS["rss090"]:
                return "rss0.90"
        return "rss1.0"
    version = (root.get("version") or "").strip()
    if version.startswith("0.9"):
        return f"rss{version[:4]}"
    return "rss2.0"


ENTRY_TAGS = ITEM


def read(root: etree._Element, feed_url: str | None, *, unescape_twice: bool = False) -> Feed:
    feed, read_entry = read_header(root, feed_url, unescape_twice=unescape_twice)
    return replace(feed, entries=tuple(read_entry(item) for item in root.iter(*ITEM)))


def read_header(
    root: etree._Element, feed_url: str | None, *, unescape_twice: bool = False
) -> tuple[Feed, Callable[[etree._Element], Entry]]:
    """The channel's fields (no entries yet) and the function that reads one item.

    Items may sit inside the channel (RSS 0.9x/2.0), beside it (RSS 1.0), or nested
    in an unclosed item that recovery kept; callers find them with ``ENTRY_TAGS``.
    Only what precedes the first item is needed, so a streaming reader can call this
    as soon as the first item is complete.
    """
    channel = c.first(root, CHANNEL)
    if channel is None:
        channel = root
    link = _channel_link(channel, feed_url)
    authors = c.unique_authors(
        [Author(name=c.plain(c.text(el))) for el in c.children(channel, CREATORS)]
        + [c.parse_person(c.text(el)) for el in c.children(channel, MANAGING_EDITOR)]
    )
    image = c.first(channel, IMAGE)
    if image is None:
        image = c.first(root, IMAGE)
    icon = c.resolve(c.text(c.first(image, URL)), link or feed_url) if image is not None else None
    itunes_image = c.first(channel, [q("itunes", "image")])
    if icon is None and itunes_image is not None:
        icon = c.resolve(itunes_image.get("href"), link or feed_url)
    language = c.plain(c.text(c.first(channel, LANGUAGE))) or c.plain(
        c.text(c.first(channel, [q("dc", "language")]))
    )
    feed = Feed(
        title=c.plain_title(c.text(c.first(channel, TITLE))),
        format=detect_version(root),
        home_page_url=link,
        feed_url=_self_link(channel) or feed_url,
        description=c.plain_from_html(c.text(c.first(channel, DESCRIPTION))),
        language=language or root.get(c.XML_LANG),
        authors=authors,
        icon=icon,
        updated=c.first_date(channel, (*LAST_BUILD, q("dc", "date"), q("dcterms", "modified"))),
    )
    # A partial of a module-level function: a pool of processes can be given it.
    return feed, functools.partial(
        read_item,
        channel_link=link,
        feed_url=feed_url,
        feed_authors=authors,
        unescape_twice=unescape_twice,
    )


def read_item(
    item: etree._Element,
    channel_link: str | None,
    feed_url: str | None,
    feed_authors: tuple[Author, ...],
    unescape_twice: bool = False,
) -> Entry:
    site_base = c.element_base(item, channel_link, feed_url)
    guid_el = c.first(item, GUID)
    guid = c.plain(c.text(guid_el))
    link = c.resolve(c.text(c.first(item, LINK)), site_base)
    if link is None:
        link = _atom_alternate(item, site_base)
    if link is None and guid and guid_el is not None:
        permalink = (guid_el.get("isPermaLink") or "true").strip().lower() != "false"
        if permalink and c.is_absolute_http(guid):
            link = guid
    if link is None:
        rdf_about = item.get(q("rdf", "about"))
        if c.is_absolute_http(rdf_about):
            link = rdf_about

    title = c.plain_title(c.text(c.first(item, TITLE)))
    published = c.first_date(item, DATE_PUBLISHED)
    updated = c.first_date(item, DATE_UPDATED)

    body_base = c.element_base(item, link, channel_link, feed_url)
    encoded = c.first(item, [q("content", "encoded"), q("xhtml", "body"), q("xhtml", "div")])
    description = c.first(item, DESCRIPTION)
    description_html = c.inner_markup(description) if description is not None else None
    encoded_html = c.inner_markup(encoded) if encoded is not None else ""
    if encoded is not None and encoded_html.strip():
        encoded_base = c.element_base(encoded, link, channel_link, feed_url)
        content_html = c.clean_body(
            encoded_html, encoded_base, title or link, unescape_twice=unescape_twice
        )
        summary = c.plain_from_html(description_html)
    else:
        content_html = c.clean_body(
            description_html, body_base, title or link, unescape_twice=unescape_twice
        )
        summary = None
    if summary is None:
        summary = c.plain(c.text(c.first(item, [q("itunes", "summary"), q("itunes", "subtitle")])))
        if summary is not None and content_html is None:
            content_html = c.clean_body(
                summary, body_base, title or link, unescape_twice=unescape_twice
            )
            summary = None
    content_text = None
    if content_html is None:
        content_text = c.media_description(item)

    authors = (
        c.unique_authors(
            [c.parse_person(c.text(el)) for el in c.children(item, AUTHOR)]
            + [Author(name=c.plain(c.text(el))) for el in c.children(item, CREATORS)]
        )
        or feed_authors
    )

    categories = c.unique(
        c.plain(c.text(el))
        for el in c.children(item, (*CATEGORY, q("dc", "subject"), q("slash", "section")))
    )
    enclosures = tuple(_enclosures(item, body_base))
    image = _image(item, body_base)
    entry_id = guid or link or c.stable_id(title, published, description_html, content_html)
    return Entry(
        id=entry_id,
        title=title,
        link=link,
        authors=authors,
        published=published,
        updated=updated,
        categories=categories,
        enclosures=enclosures,
        summary=summary,
        content_html=content_html,
        content_text=content_text,
        image=image,
        language=item.get(c.XML_LANG),
    )


def _channel_link(channel: etree._Element, feed_url: str | None) -> str | None:
    base = c.element_base(channel, feed_url)
    for el in c.children(channel, LINK):
        value = c.resolve(c.text(el), base)
        if value:
            return value
    return _atom_alternate(channel, base)


def _atom_alternate(el: etree._Element, base: str | None) -> str | None:
    for link in c.children(el, ATOM_LINK):
        if (link.get("rel") or "alternate") == "alternate" and link.get("href"):
            return c.resolve(link.get("href"), base)
    return None


def _self_link(channel: etree._Element) -> str | None:
    for link in c.children(channel, ATOM_LINK):
        if link.get("rel") == "self" and c.is_absolute_http(link.get("href")):
            return (link.get("href") or "").strip()
    return None


def _enclosures(item: etree._Element, base: str | None) -> Iterator[Enclosure]:
    seen: set[str] = set()
    duration = c.duration_seconds(c.text(c.first(item, [q("itunes", "duration")])))
    for el in c.children(item, ENCLOSURE):
        url = c.resolve(el.get("url"), base)
        if url and url not in seen:
            seen.add(url)
            yield Enclosure(
                url=url,
                media_type=c.plain(el.get("type")),
                length=c.int_or_none(el.get("length")),
                duration=duration,
            )
    media = list(c.children(item, [q("media", "content")]))
    for group in c.children(item, [q("media", "group")]):
        media.extend(c.children(group, [q("media", "content")]))
    for el in media:
        url = c.resolve(el.get("url"), base)
        medium = el.get("medium") or ""
        media_type = c.plain(el.get("type"))
        if not url or url in seen or medium == "image" or (media_type or "").startswith("image/"):
            continue
        seen.add(url)
        yield Enclosure(
            url=url,
            media_type=media_type,
            length=c.int_or_none(el.get("fileSize")),
            duration=c.int_or_none(el.get("duration")),
        )


def _image(item: etree._Element, base: str | None) -> str | None:
    image = c.media_image(item, base)
    if image:
        return image
    for el in c.children(item, [q("itunes", "image")]):
        if el.get("href"):
            return c.resolve(el.get("href"), base)
    for el in c.children(item, ENCLOSURE):
        if (el.get("type") or "").startswith("image/"):
            return c.resolve(el.get("url"), base)
    return None
