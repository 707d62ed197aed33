"""Helpers shared by the XML readers: namespaces, text extraction, URLs, ids."""

from __future__ import annotations

import copy
import hashlib
import html
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from feedconv.htmlclean import clean_fragment, html_to_text, plain_absolute
from feedconv.model import Author
from feedconv.readers.dates import parse_date

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "atom03": "http://purl.org/atom/ns#",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "media": "http://search.yahoo.com/mrss/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rss1": "http://purl.org/rss/1.0/",
    "rss090": "http://my.netscape.com/rdf/simple/0.9/",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "userland": "http://backend.userland.com/rss2",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "xml": "http://www.w3.org/XML/1998/namespace",
}

# Namespace URIs that feeds get slightly wrong (case, scheme, trailing slash) mapped
# to the one each reader matches.
NS_ALIASES = {
    "http://www.itunes.com/DTDs/Podcast-1.0.dtd": NS["itunes"],
    "https://www.itunes.com/dtds/podcast-1.0.dtd": NS["itunes"],
    "http://www.itunes.com/DTDs/PodCast-1.0.dtd": NS["itunes"],
    "http://search.yahoo.com/mrss": NS["media"],
    "https://search.yahoo.com/mrss/": NS["media"],
    "http://purl.org/dc/elements/1.1": NS["dc"],
    "https://purl.org/dc/elements/1.1/": NS["dc"],
    "http://purl.org/dc/terms": NS["dcterms"],
    "http://purl.org/rss/1.0/modules/content": NS["content"],
    "https://purl.org/rss/1.0/modules/content/": NS["content"],
    "http://www.w3.org/2005/Atom/": NS["atom"],
    "https://www.w3.org/2005/Atom": NS["atom"],
    "http://purl.org/rss/1.0": NS["rss1"],
    "http://purl.org/rss/1.0/modules/slash": NS["slash"],
}
# As declared (followed by the closing quote), so that an alias that is a prefix of
# the canonical URI ("…/elements/1.1" of "…/elements/1.1/") does not match it.
ALIAS_MARKS = tuple(uri.encode("ascii") + quote for uri in NS_ALIASES for quote in (b'"', b"'"))


def normalize_namespaces(root: etree._Element, data: bytes) -> None:
    """Rename elements in a misspelled well-known namespace to the canonical one.

    The tree is only walked when the raw bytes mention an alias, so the common case
    costs one substring search per alias.
    """
    if not any(mark in data for mark in ALIAS_MARKS):
        return
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and tag.startswith("{"):
            uri, _, name = tag[1:].partition("}")
            canonical = NS_ALIASES.get(uri)
            if canonical:
                el.tag = f"{{{canonical}}}{name}"


log = logging.getLogger(__name__)

XML_BASE = f"{{{NS['xml']}}}base"
XML_LANG = f"{{{NS['xml']}}}lang"


def q(prefix: str, name: str) -> str:
    """Clark notation for a prefixed name: q("dc", "creator")."""
    return f"{{{NS[prefix]}}}{name}"


def local_name(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(el: etree._Element) -> str | None:
    tag = el.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return None


def children(el: etree._Element, tags: Iterable[str]) -> Iterator[etree._Element]:
    wanted = set(tags)
    for child in el:
        if child.tag in wanted:
            yield child


def first(el: etree._Element, tags: Iterable[str]) -> etree._Element | None:
    return next(children(el, tags), None)


def text(el: etree._Element | None) -> str | None:
    """The element's own text content (all descendant text), whitespace-trimmed."""
    if el is None:
        return None
    value = "".join(el.itertext()).strip()
    return value or None


def inner_markup(el: etree._Element) -> str:
    """The element's content as an HTML string: text if it has no children (escaped HTML
    in RSS is the common case), else its mixed content serialised without namespaces."""
    if len(el) == 0:
        return el.text or ""
    clone = copy.deepcopy(el)
    strip_namespaces(clone)
    parts = [html.escape(clone.text or "", quote=False)]
    for child in clone:
        if isinstance(child.tag, str):
            parts.append(etree.tostring(child, encoding="unicode", method="html", with_tail=False))
        parts.append(html.escape(child.tail or "", quote=False))
    return "".join(parts)


def strip_namespaces(el: etree._Element) -> None:
    for node in el.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            try:
                node.tag = node.tag.split("}", 1)[1]
            except ValueError:  # a local name that is no valid tag without its namespace
                node.tag = "span"
        for name in list(node.attrib):
            if name.startswith("{"):
                value = node.attrib.pop(name)
                if name == XML_LANG:
                    node.attrib["lang"] = value
    etree.cleanup_namespaces(el)


_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)])
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "ftps"})


def strip_controls(value: str) -> str:
    """Remove C0/C1 control characters (terminal escapes, NUL, BEL…), keep tab/newline."""
    return value.translate(_CONTROL)


def plain(value: str | None) -> str | None:
    """Collapse whitespace in plain text and drop control characters; None for empty."""
    if value is None:
        return None
    value = " ".join(strip_controls(value).split())
    return value or None


def plain_from_html(value: str | None) -> str | None:
    if not value:
        return None
    return plain(html_to_text(value))


def plain_title(value: str | None) -> str | None:
    """An RSS/JSON title: plain text that feeds often escape once too many times."""
    if value is None:
        return None
    if "&" in value:
        value = html.unescape(value)
    return plain(value)


def has_xml_base(el: etree._Element) -> bool:
    node: etree._Element | None = el
    while node is not None:
        if XML_BASE in node.attrib:
            return True
        node = node.getparent()
    return False


def resolve(url: str | None, base: str | None) -> str | None:
    """Make ``url`` absolute against ``base``. URLs with a scheme other than http(s),
    mailto or ftp (javascript:, data:, file:…) are dropped."""
    if url is None:
        return None
    url = "".join(strip_controls(url).split())
    if not url:
        return None
    if plain_absolute(url):
        return url  # what urljoin would give, and http(s)
    if base and is_absolute_http(base):
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme and scheme not in SAFE_SCHEMES:
        return None
    return url


def is_absolute_http(url: str | None) -> bool:
    if not url:
        return False
    if plain_absolute(url):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def element_base(el: etree._Element, *fallbacks: str | None) -> str | None:
    """The base URL for relative references inside ``el``: its xml:base chain when it
    has one, else the first absolute fallback (item link, channel link, feed URL)."""
    if has_xml_base(el):
        base = el.base
        if is_absolute_http(base):
            return base
        for fallback in fallbacks:
            if is_absolute_http(fallback) and base:
                return urljoin(fallback, base)  # type: ignore[arg-type]
    for fallback in fallbacks:
        if is_absolute_http(fallback):
            return fallback
    return None


def first_date(el: etree._Element, tags: Iterable[str]) -> datetime | None:
    """The first child among ``tags`` that holds a parseable date."""
    for child in children(el, tags):
        value = parse_date(text(child))
        if value is not None:
            return value
    return None


def media_description(el: etree._Element) -> str | None:
    """Media RSS description of an item or of its media:group (YouTube-style feeds)."""
    for scope in (el, *children(el, [q("media", "group")])):
        found = text(first(scope, [q("media", "description")]))
        if found:
            return strip_controls(found)
    return None


def media_image(el: etree._Element, base: str | None) -> str | None:
    """The item's picture: media:thumbnail, or an image media:content (also in groups)."""
    scopes = (el, *children(el, [q("media", "group")]))
    for scope in scopes:
        for thumb in children(scope, [q("media", "thumbnail")]):
            if thumb.get("url"):
                return resolve(thumb.get("url"), base)
    for scope in scopes:
        for content in children(scope, [q("media", "content")]):
            medium = content.get("medium") or ""
            if medium == "image" or (content.get("type") or "").startswith("image/"):
                return resolve(content.get("url"), base)
    return None


MAX_BODY_CHARS = 8_000_000


def clean_body(
    markup: str | None, base: str | None, name: str | None = None, *, unescape_twice: bool = False
) -> str | None:
    """Clean one body. Bodies over MAX_BODY_CHARS are cut (with a warning naming the
    item, ``name``) so that one hostile post cannot exhaust memory downstream.

    A body that is HTML escaped twice (its tags shown as text: "&lt;p&gt;…" after the
    feed's own decoding) is read as the feed gives it, text, with a warning; with
    ``unescape_twice`` it is unescaped once and read as HTML."""
    if not markup or not markup.strip():
        return None
    if len(markup) > MAX_BODY_CHARS:
        log.warning(
            "body of %s is %d characters; cut to the first %d",
            repr(name) if name else "an item",
            len(markup),
            MAX_BODY_CHARS,
        )
        markup = markup[:MAX_BODY_CHARS]
    unescaped = _escaped_twice(markup)
    if unescaped is not None:
        if unescape_twice:
            markup = unescaped
        else:
            log.warning(
                "body of %s looks like HTML escaped twice (its tags show as text); "
                "kept as text (--unescape-twice reads it as HTML)",
                repr(name) if name else "an item",
            )
    cleaned = clean_fragment(markup, base)
    return cleaned or None


def _escaped_twice(markup: str) -> str | None:
    """The markup unescaped once, when it looks like HTML escaped once too often: no
    tag of its own, and once unescaped it starts with an element ("&lt;p&gt;…")."""
    if "<" in markup or "&lt;" not in markup:
        return None
    candidate = html.unescape(markup).strip()
    if not _STARTS_WITH_TAG.match(candidate):
        return None
    try:
        fragments = lxml.html.fragments_fromstring(candidate)
    except (etree.ParserError, ValueError):
        return None
    return candidate if fragments and isinstance(fragments[0], etree._Element) else None


_STARTS_WITH_TAG = re.compile(r"<[A-Za-z][A-Za-z0-9]*[\s/>]")


def parse_person(value: str | None) -> Author | None:
    """RSS `author`: "jane@example.com (Jane Doe)", "Jane Doe <jane@…>" or a name."""
    value = plain(value)
    if not value:
        return None
    if value.endswith(")") and "(" in value:
        email, _, name = value[:-1].partition("(")
        email = email.strip()
        name = name.strip()
        if "@" in email:
            return Author(name=name or None, email=email)
    if value.endswith(">") and "<" in value:
        name, _, email = value[:-1].rpartition("<")
        if "@" in email:
            return Author(name=name.strip().strip('"') or None, email=email.strip())
    if "@" in value and " " not in value:
        return Author(email=value)
    return Author(name=value)


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
    return tuple(seen)


def unique_authors(authors: Iterable[Author | None]) -> tuple[Author, ...]:
    seen: dict[Author, None] = {}
    for author in authors:
        if author is not None and author.label() and author not in seen:
            seen[author] = None
    return tuple(seen)


def stable_id(*parts: str | datetime | None) -> str:
    """A stable id for an item that has neither id nor link."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part.isoformat() if isinstance(part, datetime) else (part or "")).encode())
        digest.update(b"\x00")
    return "urn:sha256:" + digest.hexdigest()[:32]


def int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def duration_seconds(value: str | None) -> int | None:
    """iTunes duration: seconds, MM:SS or HH:MM:SS."""
    if not value:
        return None
    pieces = value.strip().split(":")
    if not 1 <= len(pieces) <= 3:
        return None
    total = 0
    for piece in pieces:
        try:
            total = total * 60 + int(float(piece))
        except ValueError:
            return None
    return total if total >= 0 else None
