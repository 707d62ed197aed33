"""Feed → EPUB 3 book (with nav document and NCX) that passes EPUBCheck.

The book holds a title page, the nav document, one index page per year and per month,
and one XHTML chapter per entry, grouped by date. Every XHTML document is built as an
lxml tree: feed HTML is parsed, rebuilt through an allowlist (:func:`_Converter`) and then
repaired for the XHTML5 content models EPUBCheck enforces (:func:`_fix_tree`).

Determinism: the identifier is a uuid5 of the feed, ``dcterms:modified`` comes from the
options or the newest post, and every zip entry carries one fixed timestamp.
All ebooklib settings live in this module (:data:`_WRITER_OPTIONS`, :class:`_Writer`).
"""

from __future__ import annotations

import io
import logging
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

import lxml.html
from ebooklib import epub  # type: ignore[import-untyped]
from lxml import etree

from feedconv.errors import InputError
from feedconv.model import Author, Entry, Feed

__all__ = ["BookOptions", "build_book"]

logger = logging.getLogger(__name__)

XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
EPUB_NS: Final = "http://www.idpf.org/2007/ops"
_FALLBACK_MODIFIED: Final = datetime(2000, 1, 1, tzinfo=UTC)
_ZIP_EPOCH: Final = datetime(1980, 1, 1, tzinfo=UTC)


def _names(text: str) -> tuple[str, ...]:
    """Space-separated names (keeps long tables of tag names short)."""
    return tuple(text.split())


_MONTHS: Final = _names(
    "January February March April May June July August September October November December"
)
_RTL_LANGUAGES: Final = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ji", "ks", "ps", "sd", "syr", "ug", "ur", "yi"}
)
_STYLE_NAME: Final = "style/book.css"
_NAV_NAME: Final = "nav.xhtml"

# ebooklib writer options, set here once.
_WRITER_OPTIONS: Final[dict[str, Any]] = {
    "epub2_guide": False,  # landmarks in the nav document instead of the EPUB 2 guide
    "epub3_landmark": True,
    "epub3_pages": False,  # no page list; it would re-parse every document
    "landmark_title": "Landmarks",
    "spine_direction": True,
    "package_direction": False,
    "play_order": {"enabled": True, "start_from": 1},
    "raise_exceptions": True,
    "compresslevel": 9,
}

STYLESHEET: Final = """\
body { font-family: serif; line-height: 1.5; margin: 0 0.5em; }
h1 { font-size: 1.5em; line-height: 1.25; margin: 1em 0 0.25em; }
h2 { font-size: 1.25em; line-height: 1.3; }
h3, h4, h5, h6 { font-size: 1.05em; }
p { margin: 0.6em 0; }
.byline { font-family: sans-serif; font-size: 0.8em; color: #666; margin: 0 0 1.5em; }
.byline span + span:before { content: " \\00B7  "; }
.media { font-style: italic; }
.attachments { font-size: 0.9em; }
pre { white-space: pre-wrap; overflow-wrap: break-word; word-wrap: break-word;
      font-size: 0.85em; line-height: 1.35; margin: 1em 0; }
code, kbd, samp { font-family: monospace; font-size: 0.95em; }
blockquote { margin: 1em 0 1em 1em; padding-left: 0.8em; border-left: 2px solid #ccc; }
table { border-collapse: collapse; max-width: 100%; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #aaa; padding: 0.2em 0.4em; vertical-align: top; }
img, svg, video { max-width: 100%; height: auto; }
figure { margin: 1em 0; }
figcaption { font-size: 0.85em; color: #555; }
.title-page { text-align: center; margin-top: 3em; }
.title-page h1 { font-size: 2em; }
.index li { margin: 0.2em 0; }
"""


@dataclass(frozen=True)
class BookOptions:
    """How to build the book; every field defaults to what the feed says."""

    title: str | None = None  # overrides feed.title
    author: str | None = None  # overrides feed authors
    language: str | None = None  # overrides feed.language (default "en" when unknown)
    newest_first: bool = False  # chapter order; default oldest first
    # Fixed time for dcterms:modified (the CLI passes SOURCE_DATE_EPOCH here);
    # None → newest entry date, else 2000-01-01T00:00:00Z.
    modified: datetime | None = None


def build_book(feed: Feed, options: BookOptions = BookOptions()) -> bytes:
    """Return the bytes of an EPUB 3 book holding every entry of ``feed``."""
    if not feed.entries:
        raise InputError("feed has no items: nothing to put in a book")
    return _BookBuilder(feed, options).build()


# --------------------------------------------------------------------------- text helpers

_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")  # ASCII: valid for every XML parser
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_INT = re.compile(r"^[+-]?\d{1,9}$")


def _clean_text(text: str | None) -> str:
    """Text without the characters XML 1.0 cannot hold."""
    if not text:
        return ""
    return _XML_INVALID.sub("", text)


def _one_line(text: str | None) -> str:
    return " ".join(_clean_text(text).split())


def _normalize_language(value: str | None) -> str | None:
    if not value:
        return None
    lang = value.strip().replace("_", "-")
    return lang if _LANG.match(lang) else None


def _is_rtl(lang: str) -> bool:
    return lang.split("-", 1)[0].lower() in _RTL_LANGUAGES


def _readable_date(value: datetime) -> str:
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_words(text: str, limit: int = 8, max_chars: int = 60) -> str:
    """The start of a text, as a title (CJK text has no spaces: cap the length too)."""
    words = text.split()
    head = " ".join(words[:limit])
    if len(head) > max_chars:
        return head[: max_chars - 1].rstrip() + "…"
    return head + ("…" if len(words) > limit else "")


# Code points the WHATWG URL standard accepts unescaped in each part (plus "%").
_QUERY_SAFE: Final = "!$&'()*+,-./:;=?@_~%"
_PATH_SAFE: Final = _QUERY_SAFE.replace("?", "")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _escape(part: str, safe: str) -> str:
    """Percent-encode what a valid URL cannot hold (a lone "%" included)."""
    return quote(_BAD_PERCENT.sub("%25", part), safe=safe)


def _safe_url(value: str | None) -> str | None:
    """An http(s)/mailto URL that EPUBCheck accepts, or None."""
    if not value:
        return None
    url = value.strip()
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    if _XML_INVALID.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        address = parts.path
        if "@" not in address or not address.strip("@"):
            return None
        return "mailto:" + _escape(address, "@.+-_!$&'*=~%")
    if scheme not in ("http", "https"):
        return None
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host or parts.username is not None or parts.password is not None:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if host.startswith("[") or ":" in host:
        return None  # IPv6 literals: too rare to be worth validating
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9])?", host):
        return None
    netloc = host + (f":{port}" if port is not None else "")
    result = f"{scheme}://{netloc}{_escape(parts.path, _PATH_SAFE) or '/'}"
    if parts.query:
        result += "?" + _escape(parts.query, _QUERY_SAFE)
    if parts.fragment:
        result += "#" + _escape(parts.fragment, _QUERY_SAFE)
    return result


# ------------------------------------------------------------------------- tree helpers


def _el(tag: str, attrib: dict[str, str] | None = None, text: str | None = None) -> etree._Element:
    """A namespace-less element (the whole body is namespaced at serialization)."""
    element = etree.Element(tag, attrib or {})
    if text:
        element.text = _clean_text(text)
    return element


def _sub(
    parent: etree._Element, tag: str, attrib: dict[str, str] | None = None, text: str | None = None
) -> etree._Element:
    element = _el(tag, attrib, text)
    parent.append(element)
    return element


def _last_child(parent: etree._Element) -> etree._Element | None:
    """The last child in O(1) (``len()`` of an lxml element walks every child)."""
    try:
        return parent[-1]
    except IndexError:
        return None


def _append_text(parent: etree._Element, text: str | None) -> None:
    """Append text after the last child of ``parent`` (or to its text)."""
    if not text:
        return
    last = _last_child(parent)
    if last is not None:
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _text_before(element: etree._Element, text: str | None) -> None:
    """Append text just before ``element`` (its previous sibling's tail or parent text)."""
    if not text:
        return
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = element.getparent()
        assert parent is not None
        parent.text = (parent.text or "") + text


def _detach(element: etree._Element) -> None:
    """Remove ``element`` but keep its tail text in place."""
    parent = element.getparent()
    assert parent is not None
    _text_before(element, element.tail)
    element.tail = None
    parent.remove(element)


def _has_text(text: str | None) -> bool:
    return bool(text and text.strip())


def _unwrap(element: etree._Element, separate: bool = False) -> None:
    """Replace ``element`` by its content; ``separate`` puts <br/> around block content."""
    parent = element.getparent()
    assert parent is not None
    children = list(element)
    has_content = _has_text(element.text) or bool(children)
    previous = element.getprevious()
    if previous is None:
        content_before = _has_text(parent.text)
    else:  # no second <br/> right after one
        content_before = previous.tag != "br" or _has_text(previous.tail)
    if separate and has_content and content_before:
        element.addprevious(_el("br"))
    _text_before(element, element.text)
    element.text = None
    for child in children:
        element.addprevious(child)  # the child's tail moves with it
    if separate and has_content and (_has_text(element.tail) or element.getnext() is not None):
        element.addprevious(_el("br"))
    _detach(element)


def _nodes(element: etree._Element) -> list[str | etree._Element]:
    """Take the content of ``element`` out as a list of text pieces and children."""
    nodes: list[str | etree._Element] = []
    if element.text:
        nodes.append(element.text)
    for child in element:
        nodes.append(child)
        if child.tail:
            nodes.append(child.tail)
    element.text = None
    for child in list(element):
        child.tail = None
        element.remove(child)
    return nodes


def _wrap_runs(element: etree._Element, allowed: frozenset[str], wrapper: str) -> None:
    """Keep children in ``allowed``; wrap every run of other content in ``wrapper``."""
    if element.text is not None and not element.text.strip():
        element.text = None
    if not _has_text(element.text) and all(
        child.tag in allowed and not _has_text(child.tail) for child in element
    ):
        return
    run: etree._Element | None = None
    for node in _nodes(element):
        if isinstance(node, str):
            if not node.strip():
                if run is not None:
                    _append_text(run, node)
                continue
            if run is None:
                run = _sub(element, wrapper)
            _append_text(run, node)
        elif node.tag in allowed:
            run = None
            element.append(node)
        else:
            if run is None:
                run = _sub(element, wrapper)
            run.append(node)


# ----------------------------------------------------------------- the allowlist pass

_GLOBAL_ATTRIBUTES: Final = frozenset({"id", "title", "lang", "dir"})
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    tag: frozenset()
    for tag in _names(
        "p div pre hr br wbr h1 h2 h3 h4 h5 h6 ul li dl dt dd figure figcaption table caption"
        " thead tbody tfoot tr abbr b bdi bdo cite code del dfn em i ins kbd mark rt ruby s"
        " samp small span strong sub sup u var"
    )
} | {
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "a": frozenset({"href"}),
}
# Obsolete or structural elements kept as a close valid equivalent.
_RENAMED: Final = {
    "article": "div",
    "section": "div",
    "aside": "div",
    "header": "div",
    "footer": "div",
    "main": "div",
    "nav": "div",
    "hgroup": "div",
    "address": "div",
    "center": "div",
    "details": "div",
    "fieldset": "div",
    "summary": "p",
    "legend": "p",
    "dir": "ul",
    "menu": "ul",
    "tt": "code",
    "strike": "s",
    "acronym": "abbr",
    "xmp": "pre",
    "listing": "pre",
    "plaintext": "pre",
    "time": "span",
    "data": "span",
    "big": "span",
    "nobr": "span",
    "label": "span",
}
# Dropped with everything inside them.
_DROPPED: Final = frozenset(
    _names(
        "script style template head title meta link base noscript param track map area input"
        " select textarea option optgroup datalist button canvas svg colgroup col frameset"
        " frame noframes dialog slot rp"
    )
)
_MEDIA: Final = frozenset(
    {"img", "image", "video", "audio", "source", "picture", "iframe", "embed", "object"}
)
_MEDIA_LABELS: Final = {
    "img": "image",
    "image": "image",
    "picture": "image",
    "video": "video",
    "audio": "audio",
    "source": "media",
    "iframe": "embedded content",
    "embed": "embedded content",
    "object": "embedded content",
}


@dataclass
class _Context:
    """What one chapter's conversion remembers: ids and links to resolve."""

    page_url: str | None
    ids: dict[str, str] = field(default_factory=dict)  # original id → id in the book
    used: set[str] = field(default_factory=set)
    fragment_links: list[tuple[etree._Element, str]] = field(default_factory=list)
    repairs: int = 0

    def unique_id(self, value: str) -> str | None:
        original = value.strip()
        if not original:
            return None
        candidate = re.sub(r"[^A-Za-z0-9_.\-]", "-", original)
        if not _NCNAME.match(candidate):
            candidate = "id-" + candidate
        if candidate != original:
            self.repairs += 1
        base, number = candidate, 1
        while candidate in self.used:
            number += 1
            candidate = f"{base}-{number}"
            self.repairs += 1
        self.used.add(candidate)
        self.ids.setdefault(original, candidate)
        return candidate


def _page_key(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")


class _Converter:
    """Rebuild parsed HTML through the allowlist: valid names, attributes and values."""

    def __init__(self, context: _Context) -> None:
        self.context = context

    def children(self, source: etree._Element, target: etree._Element) -> None:
        _append_text(target, _clean_text(source.text))
        for child in source:
            self.element(child, target)
            _append_text(target, _clean_text(child.tail))

    def element(self, source: etree._Element, target: etree._Element) -> None:
        tag = source.tag
        if not isinstance(tag, str):  # comments, processing instructions, entities
            return
        tag = tag.lower()
        if tag in _DROPPED:
            self.context.repairs += 1
            return
        if tag in _MEDIA:
            self.media(tag, source, target)
            return
        if tag == "a":
            self.link(source, target)
            return
        if tag == "bdo" and source.get("dir", "").lower() not in ("ltr", "rtl"):
            tag = "span"
        tag = _RENAMED.get(tag, tag)
        if tag not in _ALLOWED:
            self.context.repairs += 1
            self.children(source, target)  # unknown: keep the content only
            return
        element = _sub(target, tag, self.attributes(tag, source))
        self.children(source, element)

    def attributes(self, tag: str, source: etree._Element) -> dict[str, str]:
        allowed = _ALLOWED.get(tag, frozenset())
        result: dict[str, str] = {}
        for raw_name, raw_value in source.items():
            name = str(raw_name).lower()
            value = _clean_text(str(raw_value)).strip()
            checked: str | None = None
            if name == "id":
                checked = self.context.unique_id(value)
            elif name == "title":
                checked = _one_line(value) or None
            elif name == "lang":
                checked = _normalize_language(value)
            elif name == "dir":
                checked = value.lower() if value.lower() in ("ltr", "rtl", "auto") else None
            elif name in allowed:
                checked = _attribute_value(name, value)
            if checked is None:
                self.context.repairs += 1
            else:
                result[name] = checked
        if tag == "bdo":
            result["dir"] = source.get("dir", "ltr").lower()
        return result

    def link(self, source: etree._Element, target: etree._Element) -> None:
        href = (source.get("href") or "").strip()
        element_id = source.get("id") or source.get("name")
        attributes = self.attributes("a", source)
        attributes.pop("href", None)
        if not attributes.get("id") and element_id:
            new_id = self.context.unique_id(element_id)
            if new_id:
                attributes["id"] = new_id
        fragment: str | None = None
        url: str | None = None
        if href.startswith("#"):
            fragment = unquote(href[1:])
        elif href:
            page = self.context.page_url
            if page and "#" in href and _page_key(href) == _page_key(page):
                fragment = unquote(href.split("#", 1)[1])
            else:
                url = _safe_url(href)
        if url is None and fragment is None:
            if href:
                self.context.repairs += 1
            if attributes.get("id"):  # a named anchor: keep it as a target
                element = _sub(target, "span", attributes)
                self.children(source, element)
            else:
                self.children(source, target)
            return
        element = _sub(target, "a", attributes)
        if url is not None:
            element.set("href", url)
        else:
            assert fragment is not None
            self.context.fragment_links.append((element, fragment))
        self.children(source, element)

    def media(self, tag: str, source: etree._Element, target: etree._Element) -> None:
        """Replace an embedded resource by a link to it (no remote resources in the book)."""
        self.context.repairs += 1
        if tag == "picture":
            image = next(iter(source.iter("img")), None)
            if image is not None:
                self.media("img", image, target)
            return
        url = source.get("src") or source.get("data")
        if not url and tag in ("video", "audio"):
            url = next((s.get("src") for s in source.iter("source") if s.get("src")), None)
        href = _safe_url(url)
        description = _one_line(
            source.get("alt") or source.get("title") or source.get("aria-label")
        )
        label = _MEDIA_LABELS.get(tag, "media")
        text = f"[{label}: {description}]" if description else f"[{label}]"
        if href is None:
            if description:
                _append_text(target, text)
            return
        _sub(target, "a", {"href": href, "class": "media"}, text)


def _attribute_value(name: str, value: str) -> str | None:
    """A valid value for an element-specific attribute, or None to drop it."""
    if name in ("cite",):
        return _safe_url(value)
    if name == "start":
        return str(int(value)) if _INT.match(value) else None
    if name == "reversed":
        return "reversed"
    if name == "type":
        return value if value in ("1", "a", "A", "i", "I") else None
    if name == "colspan":
        return str(int(value)) if value.isdigit() and 1 <= int(value) <= 1000 else None
    if name == "rowspan":
        return str(int(value)) if value.isdigit() and int(value) <= 65534 else None
    if name == "scope":
        return value.lower() if value.lower() in ("row", "col", "rowgroup", "colgroup") else None
    return None


# ------------------------------------------------------------- the content-model pass

_PHRASING: Final = frozenset(
    _names(
        "a abbr b bdi bdo br cite code del dfn em i ins kbd mark q rt ruby s samp small span"
        " strong sub sup u var wbr"
    )
)
# Elements whose content must be phrasing content (the rest accept flow content).
_PHRASING_ONLY: Final = _PHRASING | {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt"}
# Elements only valid under certain parents, and what they become elsewhere.
_PARENTS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "li": (frozenset({"ul", "ol"}), "div"),
    "dt": (frozenset({"dl"}), "p"),
    "dd": (frozenset({"dl"}), "div"),
    "caption": (frozenset({"table"}), "div"),
    "thead": (frozenset({"table"}), "div"),
    "tbody": (frozenset({"table"}), "div"),
    "tfoot": (frozenset({"table"}), "div"),
    "tr": (frozenset({"thead", "tbody", "tfoot"}), "div"),
    "td": (frozenset({"tr"}), "div"),
    "th": (frozenset({"tr"}), "div"),
    "figcaption": (frozenset({"figure"}), "div"),
    "rt": (frozenset({"ruby"}), "span"),
}
_DL_PATTERN: Final = re.compile(r"^(?:(?:t)+(?:d)+)*$")


def _normalize_table(table: etree._Element) -> None:
    """caption?, thead?, tbody*, tfoot? — stray content goes into a body row."""
    caption = head = foot = None
    bodies: list[etree._Element] = []
    loose: etree._Element | None = None
    for node in _nodes(table):
        if isinstance(node, str):
            if not node.strip():
                continue
        else:
            tag = node.tag
            if tag == "caption" and caption is None and not bodies and head is None:
                caption = node
                continue
            if tag == "thead" and head is None and not bodies:
                head = node
                continue
            if tag == "tfoot" and foot is None:
                foot = node
                continue
            if tag in ("thead", "tfoot", "tbody"):
                node.tag = "tbody"
                bodies.append(node)
                loose = None
                continue
        if loose is None:
            loose = _el("tbody")
            bodies.append(loose)
        if isinstance(node, str):
            _append_text(loose, node)
        else:
            loose.append(node)
    for part in (caption, head, *bodies, foot):
        if part is not None:
            table.append(part)


def _normalize_figure(figure: etree._Element) -> None:
    """At most one figcaption, and only as the first or the last child."""
    captions = [child for child in figure if child.tag == "figcaption"]
    if not captions:
        return
    for extra in captions[1:]:
        extra.tag = "div"
    caption = captions[0]
    first = figure[0] is caption and not _has_text(figure.text)
    last = figure[-1] is caption and not _has_text(caption.tail)
    if not first and not last:
        _detach(caption)
        figure.append(caption)


def _normalize(element: etree._Element) -> None:
    """Fix the children of container elements with a strict content model."""
    tag = element.tag
    if tag in ("ul", "ol"):
        _wrap_runs(element, frozenset({"li"}), "li")
    elif tag == "dl":
        _wrap_runs(element, frozenset({"dt", "dd"}), "dd")
        shape = "".join("t" if child.tag == "dt" else "d" for child in element)
        if not _DL_PATTERN.match(shape):
            element.tag = "div"  # the dt/dd children become p/div below
    elif tag == "table":
        _normalize_table(element)
    elif tag in ("thead", "tbody", "tfoot"):
        _wrap_runs(element, frozenset({"tr"}), "tr")
    elif tag == "tr":
        _wrap_runs(element, frozenset({"td", "th"}), "td")
    elif tag == "figure":
        _normalize_figure(element)
    elif tag == "p" and any(child.tag not in _PHRASING for child in element):
        element.tag = "div"  # <p> holding blocks: a <div> may hold them


# Elements that must not contain another one of their kind, however deep.
_NO_NESTING: Final = frozenset({"a", "dfn"})
# Containers dropped when they hold nothing at all.
_DROP_EMPTY: Final = frozenset({"p", "table", "ul", "ol", "dl"})


def _fix_tree(element: etree._Element, outer: frozenset[str] = frozenset()) -> None:
    """Top-down repair of content models (parents are fixed before their children).

    ``outer`` holds the :data:`_NO_NESTING` elements that enclose ``element``.
    """
    _normalize(element)
    phrasing_only = element.tag in _PHRASING_ONLY
    previous: etree._Element | None = None
    while True:
        # Walk by sibling links: indexing an lxml element is O(n).
        child = previous.getnext() if previous is not None else next(iter(element), None)
        if child is None:
            break
        rule = _PARENTS.get(child.tag)
        if rule is not None and element.tag not in rule[0]:
            child.tag = rule[1]
        if (phrasing_only and child.tag not in _PHRASING) or child.tag in outer:
            _unwrap(child, separate=child.tag not in _PHRASING)
            continue  # look again at what took its place
        if child.tag in _DROP_EMPTY and not (len(child) or _has_text(child.text) or child.attrib):
            _detach(child)  # e.g. empty paragraphs left over from broken markup
            continue
        _fix_tree(child, outer | {child.tag} if child.tag in _NO_NESTING else outer)
        previous = child


def _resolve_fragments(body: etree._Element, context: _Context) -> None:
    """Keep in-document links whose target exists; unwrap the rest."""
    present = {value for value in body.xpath("//@id")}
    for link, fragment in context.fragment_links:
        target = context.ids.get(fragment)
        if link.getparent() is None:
            continue
        if target and target in present:
            link.set("href", "#" + target)
        else:
            context.repairs += 1
            link.attrib.pop("class", None)
            if link.get("id"):
                link.tag = "span"
            else:
                _unwrap(link)


def _parse_fragment(html: str) -> etree._Element | None:
    text = _clean_text(html)
    if not text.strip():
        return None
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        return lxml.html.fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError):
        return None


def _html_body(html: str, page_url: str | None, item: str) -> tuple[etree._Element, int]:
    """Cleaned feed HTML → a valid XHTML <div> (namespace-less), plus the repair count."""
    context = _Context(page_url=page_url)
    body = _el("div", {"class": "content"})
    parsed = _parse_fragment(html)
    if parsed is None:
        if html.strip():
            logger.warning("%s: could not parse the HTML body; kept it as text", item)
            _text_body(body, html)
        return body, 0
    _Converter(context).children(parsed, body)
    _fix_tree(body)
    _resolve_fragments(body, context)
    return body, context.repairs


def _text_body(target: etree._Element, text: str) -> None:
    """Plain text → paragraphs (blank lines) with line breaks."""
    for paragraph in re.split(r"\n\s*\n", _clean_text(text).strip()):
        if not paragraph.strip():
            continue
        p = _sub(target, "p")
        for number, line in enumerate(paragraph.strip().split("\n")):
            if number:
                _sub(p, "br")
            _append_text(p, line.strip())


# ------------------------------------------------------------------------ documents


_VOID: Final = frozenset({"br", "hr", "wbr", "meta", "link", "img", "col", "source"})


def _namespaced(root: etree._Element) -> etree._Element:
    """Move a namespace-less tree into the XHTML namespace."""
    result = etree.Element(f"{{{XHTML_NS}}}html", nsmap={None: XHTML_NS, "epub": EPUB_NS})
    for name, value in root.items():
        result.set(name, value)
    result.text = root.text
    for child in root:
        result.append(child)
    for element in result.iter():
        if isinstance(element.tag, str) and not element.tag.startswith("{"):
            if element.text is None and not len(element) and element.tag not in _VOID:
                element.text = ""  # <div></div>, never <div/>, for HTML-minded readers
            element.tag = f"{{{XHTML_NS}}}{element.tag}"
    return result


def _document(title: str, lang: str, rtl: bool, css: str, body: etree._Element) -> bytes:
    """Serialize one XHTML content document."""
    root = _el("html", {"lang": lang, "{http://www.w3.org/XML/1998/namespace}lang": lang})
    if rtl:
        root.set("dir", "rtl")
    head = _sub(root, "head")
    _sub(head, "meta", {"charset": "utf-8"})
    _sub(head, "title", None, title or "Untitled")
    _sub(head, "link", {"rel": "stylesheet", "type": "text/css", "href": css})
    if rtl:
        body.set("dir", "rtl")
    root.append(body)
    tree = _namespaced(root)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


class _Document(epub.EpubHtml):  # type: ignore[misc]
    """An XHTML document whose bytes we build ourselves (ebooklib would re-parse them
    with the HTML parser and rebuild the head)."""

    def get_content(self, default: bytes | None = None) -> bytes:
        return bytes(self.content)


# ---------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class _Chapter:
    entry: Entry
    title: str
    uid: str
    file_name: str  # relative to the package folder


@dataclass
class _Group:
    label: str
    uid: str
    file_name: str
    chapters: list[_Chapter] = field(default_factory=list)
    children: list[_Group] = field(default_factory=list)


def _sort_key(entry: Entry) -> tuple[datetime, str]:
    date = entry.date
    assert date is not None
    return (date, entry.id)


def _entry_text(entry: Entry) -> str:
    """The readable text of an entry, for a title when it has none."""
    if entry.content_html:
        parsed = _parse_fragment(entry.content_html)
        if parsed is not None:
            for element in list(parsed.iter()):
                tag = element.tag if isinstance(element.tag, str) else ""
                if (tag in _DROPPED or tag == "math") and element.getparent() is not None:
                    _detach(element)
            return " ".join(" ".join(parsed.itertext()).split())
    return _one_line(entry.content_text or entry.summary)


def _entry_title(entry: Entry) -> str:
    title = _one_line(entry.title)
    if title:
        return title
    return _first_words(_entry_text(entry)) or "Untitled"


def _authors(authors: Iterable[Author]) -> list[str]:
    labels: list[str] = []
    for author in authors:
        label = _one_line(author.label())
        if label and label not in labels:
            labels.append(label)
    return labels


class _BookBuilder:
    def __init__(self, feed: Feed, options: BookOptions) -> None:
        self.feed = feed
        self.options = options
        self.title = _one_line(options.title) or _one_line(feed.title) or "Untitled feed"
        lang = _normalize_language(options.language) or _normalize_language(feed.language)
        if lang is None and (options.language or feed.language):
            logger.warning("book: ignoring invalid language %r", options.language or feed.language)
        self.lang = lang or "en"
        self.rtl = _is_rtl(self.lang)
        dated = [entry for entry in feed.entries if entry.date is not None]
        self.dates = sorted(_sort_key(entry)[0] for entry in dated)
        self.undated = sorted(
            (entry for entry in feed.entries if entry.date is None), key=lambda e: e.id
        )
        self.groups = self._group(dated)

    # -- order and groups

    def _group(self, dated: list[Entry]) -> list[_Group]:
        """year → month → chapters; groups use the date as the feed wrote it."""
        reverse = self.options.newest_first
        by_month: dict[tuple[int, int], list[Entry]] = {}
        for entry in dated:
            date = entry.date
            assert date is not None
            by_month.setdefault((date.year, date.month), []).append(entry)
        years: dict[int, _Group] = {}
        number = 0
        groups: list[_Group] = []
        for year, month in sorted(by_month, reverse=reverse):
            if year not in years:
                years[year] = _Group(str(year), f"y{year}", f"text/y{year}.xhtml")
                groups.append(years[year])
            month_group = _Group(
                f"{_MONTHS[month - 1]} {year}",
                f"m{year}-{month:02d}",
                f"text/m{year}-{month:02d}.xhtml",
            )
            years[year].children.append(month_group)
            for entry in sorted(by_month[(year, month)], key=_sort_key, reverse=reverse):
                number += 1
                month_group.chapters.append(self._chapter(entry, number))
        if self.undated:
            group = _Group("Undated", "undated", "text/undated.xhtml")
            for entry in self.undated:
                number += 1
                group.chapters.append(self._chapter(entry, number))
            groups.append(group)
        return groups

    @staticmethod
    def _chapter(entry: Entry, number: int) -> _Chapter:
        return _Chapter(entry, _entry_title(entry), f"p{number:05d}", f"text/p{number:05d}.xhtml")

    def _reading_order(self) -> Iterator[_Group | _Chapter]:
        """Spine order: each group's index page, then what the group holds."""
        for group in self.groups:
            yield group
            for month in group.children:
                yield month
                yield from month.chapters
            yield from group.chapters

    # -- metadata

    def _modified(self) -> datetime:
        if self.options.modified is not None:
            value = self.options.modified
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return self.dates[-1] if self.dates else _FALLBACK_MODIFIED

    def _identifier(self) -> str:
        key = self.feed.feed_url or self.feed.home_page_url or self.feed.title or "untitled feed"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"

    def _creators(self) -> list[str]:
        if _one_line(self.options.author):
            return [_one_line(self.options.author)]
        creators = _authors(self.feed.authors)
        if not creators:
            entry_authors = _authors(a for e in self.feed.entries for a in e.authors)
            if len(entry_authors) <= 3:
                creators = entry_authors
        return creators

    def _metadata(self, book: Any) -> None:
        book.set_identifier(self._identifier())
        book.set_title(self.title)
        book.set_language(self.lang)
        for number, creator in enumerate(self._creators(), start=1):
            book.add_author(creator, uid=f"creator{number}")
        if self.dates:
            book.add_metadata("DC", "date", _utc_stamp(self.dates[-1]))
        if self.feed.feed_url and _one_line(self.feed.feed_url):
            book.add_metadata("DC", "source", _one_line(self.feed.feed_url))
        if _one_line(self.feed.description):
            book.add_metadata("DC", "description", _one_line(self.feed.description))
        if self.rtl:
            book.set_direction("rtl")

    # -- documents

    def _page(self, uid: str, file_name: str, title: str, body: etree._Element) -> _Document:
        css = "../" + _STYLE_NAME if "/" in file_name else _STYLE_NAME
        document = _Document(
            uid=uid,
            file_name=file_name,
            media_type="application/xhtml+xml",
            title=title,
            lang=self.lang,
        )
        document.content = _document(title, self.lang, self.rtl, css, body)
        return document

    def _title_page(self) -> _Document:
        body = _el("body")
        section = _sub(body, "div", {"class": "title-page"})
        _sub(section, "h1", None, self.title)
        creators = self._creators()
        if creators:
            _sub(section, "p", {"class": "authors"}, ", ".join(creators))
        if _one_line(self.feed.description):
            _sub(section, "p", {"class": "description"}, _one_line(self.feed.description))
        site = _safe_url(self.feed.home_page_url)
        if site:
            p = _sub(section, "p")
            _sub(p, "a", {"href": site}, _one_line(self.feed.home_page_url))
        if self.dates:
            first, last = _readable_date(self.dates[0]), _readable_date(self.dates[-1])
            span = first if first == last else f"{first} – {last}"
            _sub(section, "p", {"class": "dates"}, f"Posts from {span}")
        count = len(self.feed.entries)
        _sub(section, "p", {"class": "count"}, f"{count} {'post' if count == 1 else 'posts'}")
        return self._page("titlepage", "text/title.xhtml", self.title, body)

    def _index_page(self, group: _Group) -> _Document:
        body = _el("body")
        _sub(body, "h1", None, group.label)
        ul = _sub(body, "ul", {"class": "index"})
        for child in group.children:
            li = _sub(ul, "li")
            _sub(li, "a", {"href": child.file_name.removeprefix("text/")}, child.label)
            inner = _sub(li, "ul")
            for chapter in child.chapters:
                self._index_item(inner, chapter)
        for chapter in group.chapters:
            self._index_item(ul, chapter)
        return self._page(group.uid, group.file_name, group.label, body)

    @staticmethod
    def _index_item(ul: etree._Element, chapter: _Chapter) -> None:
        li = _sub(ul, "li")
        _sub(li, "a", {"href": chapter.file_name.removeprefix("text/")}, chapter.title)
        date = chapter.entry.date
        if date is not None:
            _append_text(li, f" ({_readable_date(date)})")

    def _chapter_page(self, chapter: _Chapter) -> _Document:
        entry = chapter.entry
        item = f"entry {entry.id!r}"
        body = _el("body")
        lang = _normalize_language(entry.language)
        if lang and lang.lower() != self.lang.lower():
            body.set("lang", lang)
            body.set("dir", "rtl" if _is_rtl(lang) else "ltr")
        header = _sub(body, "div", {"class": "header"})
        _sub(header, "h1", None, chapter.title)
        byline = self._byline(entry)
        if len(byline):
            header.append(byline)
        if entry.content_html and entry.content_html.strip():
            content, repairs = _html_body(entry.content_html, entry.link, item)
            if repairs:
                logger.debug("%s: %d HTML repairs for EPUB", item, repairs)
        else:
            content = _el("div", {"class": "content"})
            _text_body(content, entry.content_text or entry.summary or "")
        body.append(content)
        attachments = self._attachments(entry)
        if attachments is not None:
            body.append(attachments)
        return self._page(chapter.uid, chapter.file_name, chapter.title, body)

    @staticmethod
    def _byline(entry: Entry) -> etree._Element:
        byline = _el("p", {"class": "byline"})
        date = entry.date
        if date is not None:
            span = _sub(byline, "span")
            _sub(
                span, "time", {"datetime": date.isoformat(timespec="seconds")}, _readable_date(date)
            )
        authors = _authors(entry.authors)
        if authors:
            _sub(byline, "span", {"class": "authors"}, "by " + ", ".join(authors))
        categories = [c for c in (_one_line(c) for c in entry.categories) if c]
        if categories:
            _sub(byline, "span", {"class": "categories"}, "in " + ", ".join(categories))
        link = _safe_url(entry.link)
        if link:
            span = _sub(byline, "span")
            _sub(span, "a", {"href": link}, "Original post")
        external = _safe_url(entry.external_url)
        if external and external != link:
            span = _sub(byline, "span")
            _sub(span, "a", {"href": external}, "Linked page")
        return byline

    @staticmethod
    def _attachments(entry: Entry) -> etree._Element | None:
        links = [(e, _safe_url(e.url)) for e in entry.enclosures]
        links = [(e, url) for e, url in links if url]
        if not links:
            return None
        div = _el("div", {"class": "attachments"})
        _sub(div, "p", None, "Attachments:")
        ul = _sub(div, "ul")
        for enclosure, url in links:
            assert url is not None
            label = _one_line(enclosure.title) or url
            kind = (enclosure.media_type or "").split("/", 1)[0]
            li = _sub(ul, "li")
            _sub(li, "a", {"href": url}, f"[{kind}] {label}" if kind else label)
        return div

    # -- assembly

    def _toc(self) -> list[Any]:
        toc: list[Any] = []
        for group in self.groups:
            entries: list[Any] = []
            for child in group.children:
                posts = [self._toc_link(chapter) for chapter in child.chapters]
                entries.append((epub.Section(child.label, href=child.file_name), posts))
            entries.extend(self._toc_link(chapter) for chapter in group.chapters)
            toc.append((epub.Section(group.label, href=group.file_name), entries))
        return toc

    @staticmethod
    def _toc_link(chapter: _Chapter) -> Any:
        return epub.Link(chapter.file_name, chapter.title, uid=f"toc-{chapter.uid}")

    def build(self) -> bytes:
        book = epub.EpubBook()
        self._metadata(book)
        style = epub.EpubItem(
            uid="style", file_name=_STYLE_NAME, media_type="text/css", content=STYLESHEET.encode()
        )
        book.add_item(style)
        title_page = book.add_item(self._title_page())
        nav = epub.EpubNav(title="Contents", direction="rtl" if self.rtl else None)
        nav.add_item(style)
        book.add_item(nav)
        book.add_item(epub.EpubNcx())
        spine: list[Any] = [title_page, nav]
        for part in self._reading_order():
            if isinstance(part, _Chapter):
                document = self._chapter_page(part)
            else:
                document = self._index_page(part)
            book.add_item(document)
            spine.append(document)
        book.spine = spine
        book.toc = self._toc()
        first = self.groups[0].file_name
        book.guide = [
            {"type": "titlepage", "href": "text/title.xhtml", "title": "Title page"},
            {"type": "toc", "href": _NAV_NAME, "title": "Contents"},
            {"type": "bodymatter", "href": first, "title": "Posts"},
        ]
        return _write(book, self._modified())


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile that stamps every entry with one fixed time and fixed attributes."""

    date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)

    def writestr(  # type: ignore[override]
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: bytes | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=self.date_time)
            info.compress_type = self.compression if compress_type is None else compress_type
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)


class _Writer(epub.EpubWriter):  # type: ignore[misc]
    """ebooklib's writer with fixed zip timestamps; exceptions propagate."""

    def __init__(self, out: io.BytesIO, book: Any, stamp: datetime) -> None:
        # ebooklib formats mtime with a literal "Z": hand it naive UTC.
        super().__init__(out, book, {**_WRITER_OPTIONS, "mtime": stamp.replace(tzinfo=None)})
        stamp = max(stamp, _ZIP_EPOCH)
        self.date_time = (
            stamp.year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
        )

    def write(self) -> None:
        self.out = _FixedTimeZip(
            self.file_name,
            "w",
            zipfile.ZIP_DEFLATED,
            compresslevel=self.options["compresslevel"],
        )
        self.out.date_time = self.date_time
        self.out.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        self._write_container()
        self._write_opf()
        self._write_items()
        self.out.close()


def _write(book: Any, modified: datetime) -> bytes:
    """Write the book to memory; unlike ``write_epub``, errors are raised."""
    out = io.BytesIO()
    writer = _Writer(out, book, modified.astimezone(UTC))
    writer.process()
    writer.write()
    return out.getvalue()
