"""Atom 1.0 and Atom 0.3 into the feed model."""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

from lxml import etree

from feedconv.model import Author, Enclosure, Entry, Feed
from feedconv.readers import _common as c
from feedconv.readers._common import NS

log = logging.getLogger(__name__)


class _Names:
    """Clark names of the Atom elements for one Atom namespace."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def __call__(self, *names: str) -> tuple[str, ...]:
        return tuple(f"{{{self.ns}}}{name}" for name in names)


ENTRY_TAGS = (f"{{{NS['atom']}}}entry", f"{{{NS['atom03']}}}entry")


def read(root: etree._Element, feed_url: str | None, *, unescape_twice: bool = False) -> Feed:
    feed, read_one = read_header(root, feed_url, unescape_twice=unescape_twice)
    ns = c.namespace(root) or NS["atom"]
    entries = c.children(root, _Names(ns)("entry"))
    return replace(feed, entries=tuple(read_one(entry) for entry in entries))


def read_header(
    root: etree._Element, feed_url: str | None, *, unescape_twice: bool = False
) -> tuple[Feed, Callable[[etree._Element], Entry]]:
    """The feed's fields (no entries yet) and the function that reads one entry."""
    ns = c.namespace(root) or NS["atom"]
    a = _Names(ns)
    version = "atom0.3" if ns == NS["atom03"] else "atom1.0"
    base = c.element_base(root, feed_url)
    home = _link(root, a, base, "alternate")
    self_link = _link(root, a, base, "self")
    authors = _authors(root, a, base)
    title = _text_construct_plain(c.first(root, a("title")))
    feed = Feed(
        title=title,
        format=version,
        home_page_url=home,
        feed_url=self_link if c.is_absolute_http(self_link) else feed_url,
        description=_text_construct_plain(c.first(root, a("subtitle", "tagline"))),
        language=root.get(c.XML_LANG),
        authors=authors,
        icon=c.resolve(c.text(c.first(root, a("logo"))), base),
        favicon=c.resolve(c.text(c.first(root, a("icon"))), base),
        updated=c.first_date(root, a("updated", "modified")),
    )
    # A partial of a module-level function: a pool of processes can be given it.
    return feed, functools.partial(
        read_entry,
        a=a,
        home=home,
        feed_url=feed_url,
        feed_authors=authors,
        unescape_twice=unescape_twice,
    )


def read_entry(
    entry: etree._Element,
    a: _Names,
    home: str | None,
    feed_url: str | None,
    feed_authors: tuple[Author, ...],
    unescape_twice: bool = False,
) -> Entry:
    base = c.element_base(entry, home, feed_url)
    link = _link(entry, a, base, "alternate")
    title = _text_construct_plain(c.first(entry, a("title")))
    published = c.first_date(entry, a("published", "issued", "created"))
    updated = c.first_date(entry, a("updated", "modified"))
    source = c.first(entry, a("source"))
    authors = (
        _authors(entry, a, base)
        or (_authors(source, a, base) if source is not None else ())
        or feed_authors
    )
    content_el = c.first(entry, a("content"))
    summary_el = c.first(entry, a("summary"))
    content_html: str | None = None
    content_text: str | None = None
    external_url: str | None = None
    if content_el is not None:
        src = content_el.get("src")
        if src:
            external_url = c.resolve(src, c.element_base(content_el, link, home, feed_url))
        else:
            content_html, content_text = _body(
                content_el, link, home, feed_url, title or link, unescape_twice
            )
    summary_html, summary_text = (None, None)
    if summary_el is not None:
        summary_html, summary_text = _body(
            summary_el, link, home, feed_url, title or link, unescape_twice
        )
    summary: str | None
    if content_html is None and content_text is None:
        content_html, content_text = summary_html, summary_text
        summary = None
        if content_html is None and content_text is None:
            content_text = c.media_description(entry)
    else:
        summary = summary_text or c.plain_from_html(summary_html)
    categories = c.unique(
        c.plain(el.get("label") or el.get("term") or c.text(el))
        for el in c.children(entry, a("category"))
    )
    entry_id = c.plain(c.text(c.first(entry, a("id")))) or link
    if entry_id is None:
        entry_id = c.stable_id(title, published, content_html, content_text)
    return Entry(
        id=entry_id,
        title=title,
        link=link,
        external_url=external_url,
        authors=authors,
        published=published,
        updated=updated,
        categories=categories,
        enclosures=tuple(_enclosures(entry, a, base)),
        summary=summary,
        content_html=content_html,
        content_text=content_text,
        image=_image(entry, base),
        language=entry.get(c.XML_LANG),
    )


def _link(el: etree._Element, a: _Names, base: str | None, rel: str) -> str | None:
    fallback: str | None = None
    for link in c.children(el, a("link")):
        href = link.get("href")
        if not href:
            continue
        link_rel = (link.get("rel") or "alternate").strip()
        if link_rel == rel:
            media_type = (link.get("type") or "text/html").lower()
            if "html" in media_type:
                return c.resolve(href, c.element_base(link, base))
            fallback = fallback or c.resolve(href, c.element_base(link, base))
    return fallback


def _authors(el: etree._Element, a: _Names, base: str | None) -> tuple[Author, ...]:
    people = []
    for author in c.children(el, a("author")):
        name = c.plain(c.text(c.first(author, a("name"))))
        url = c.resolve(c.text(c.first(author, a("uri", "url"))), base)
        email = c.plain(c.text(c.first(author, a("email"))))
        if name is None and len(author) == 0:
            name = c.plain(c.text(author))
        people.append(Author(name=name, url=url, email=email))
    people += [Author(name=c.plain(c.text(x))) for x in c.children(el, [c.q("dc", "creator")])]
    return c.unique_authors(people)


def _mode_and_type(el: etree._Element) -> tuple[str, str]:
    kind = (el.get("type") or "text").strip().lower()
    mode = (el.get("mode") or "").strip().lower()  # Atom 0.3
    if kind in ("text", "text/plain"):
        kind = "text"
    elif kind in ("html", "text/html"):
        kind = "html"
    elif kind in ("xhtml", "application/xhtml+xml"):
        kind = "xhtml"
    return kind, mode


def _body(
    el: etree._Element,
    link: str | None,
    home: str | None,
    feed_url: str | None,
    name: str | None = None,
    unescape_twice: bool = False,
) -> tuple[str | None, str | None]:
    """An Atom text construct as (cleaned HTML, plain text); one of them is set."""
    base = c.element_base(el, link, home, feed_url)
    kind, mode = _mode_and_type(el)
    if mode == "base64":
        try:
            raw = base64.b64decode(el.text or "", validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            log.warning("entry content is not valid base64; ignored")
            return None, None
    elif kind == "xhtml" or mode == "xml" or len(el) > 0:
        div = c.first(el, [c.q("xhtml", "div")])
        raw = c.inner_markup(div if div is not None else el)
        kind = "html"
    else:
        raw = el.text or ""
    if kind == "text":
        value = c.strip_controls(raw).strip()
        return None, value or None
    if kind == "html" or kind.endswith("html") or mode == "escaped":
        return c.clean_body(raw, base, name, unescape_twice=unescape_twice), None
    # Other media types (e.g. application/json) carry no readable body.
    value = c.strip_controls(raw).strip()
    return None, value or None


def _text_construct_plain(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    kind, mode = _mode_and_type(el)
    if kind == "xhtml" or len(el) > 0:
        return c.plain_from_html(c.inner_markup(el))
    if kind == "html" or mode == "escaped":
        return c.plain_from_html(el.text)
    return c.plain(el.text)


def _enclosures(entry: etree._Element, a: _Names, base: str | None) -> Iterator[Enclosure]:
    seen: set[str] = set()
    for link in c.children(entry, a("link")):
        if (link.get("rel") or "").strip() != "enclosure":
            continue
        url = c.resolve(link.get("href"), c.element_base(link, base))
        if url and url not in seen:
            seen.add(url)
            yield Enclosure(
                url=url,
                media_type=c.plain(link.get("type")),
                length=c.int_or_none(link.get("length")),
                title=c.plain(link.get("title")),
            )


def _image(entry: etree._Element, base: str | None) -> str | None:
    return c.media_image(entry, base)


__all__ = ["read"]
