"""The validity pass: feed HTML → XHTML trees that EPUBCheck accepts, and serialization.

Feed HTML is parsed by lxml, rebuilt through an allowlist (:class:`Converter`: valid
element names, attributes and values; images become placeholders the book fills in
later) and then repaired for the XHTML5 content models EPUBCheck enforces
(:func:`fix_tree`). Trees stay namespace-less until :func:`document` serializes them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, unquote, urlsplit

from ebooklib import epub  # type: ignore[import-untyped]
from lxml import etree

from feedconv import htmlclean

logger = logging.getLogger("feedconv.writers.epub")

XHTML_NS: Final = "http://www.w3.org/1999/xhtml"
EPUB_NS: Final = "http://www.idpf.org/2007/ops"
EPUB_TYPE: Final = f"{{{EPUB_NS}}}type"


def names(text: str) -> tuple[str, ...]:
    """Space-separated names (keeps long tables of tag names short)."""
    return tuple(text.split())


MONTHS: Final = names(
    "January February March April May June July August September October November December"
)
_RTL_LANGUAGES: Final = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ji", "ks", "ps", "sd", "syr", "ug", "ur", "yi"}
)

# --------------------------------------------------------------------------- text helpers

_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")  # ASCII: valid for every XML parser
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_INT = re.compile(r"^[+-]?\d{1,9}$")


def clean_text(text: str | None) -> str:
    """Text without the characters XML 1.0 cannot hold."""
    if not text:
        return ""
    return _XML_INVALID.sub("", text)


def one_line(text: str | None) -> str:
    return " ".join(clean_text(text).split())


def normalize_language(value: str | None) -> str | None:
    if not value:
        return None
    lang = value.strip().replace("_", "-")
    return lang if _LANG.match(lang) else None


def is_rtl(lang: str) -> bool:
    return lang.split("-", 1)[0].lower() in _RTL_LANGUAGES


def readable_date(value: datetime) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_words(text: str, limit: int = 8, max_chars: int = 60) -> str:
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


_URL_BLANKS = re.compile(r"[\s\x00-\x1f\x7f]")  # \s: what str.isspace() calls a space


def safe_url(value: str | None) -> str | None:
    """An http(s)/mailto URL that EPUBCheck accepts, or None."""
    if not value:
        return None
    url = value.strip()
    if not url or _URL_BLANKS.search(url):
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


def el(tag: str, attrib: dict[str, str] | None = None, text: str | None = None) -> etree._Element:
    """A namespace-less element (the whole body is namespaced at serialization)."""
    element = etree.Element(tag, attrib or {})
    if text:
        element.text = clean_text(text)
    return element


def sub(
    parent: etree._Element, tag: str, attrib: dict[str, str] | None = None, text: str | None = None
) -> etree._Element:
    element = etree.SubElement(parent, tag, attrib or {})
    if text:
        element.text = clean_text(text)
    return element


def _last_child(parent: etree._Element) -> etree._Element | None:
    """The last child in O(1) (``len()`` of an lxml element walks every child)."""
    try:
        return parent[-1]
    except IndexError:
        return None


def append_text(parent: etree._Element, text: str | None) -> None:
    """Append text after the last child of ``parent`` (or to its text)."""
    if not text:
        return
    last = _last_child(parent)
    if last is not None:
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def text_before(element: etree._Element, text: str | None) -> None:
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


def detach(element: etree._Element) -> None:
    """Remove ``element`` but keep its tail text in place."""
    parent = element.getparent()
    assert parent is not None
    text_before(element, element.tail)
    element.tail = None
    parent.remove(element)


def has_text(text: str | None) -> bool:
    return bool(text and text.strip())


def unwrap(element: etree._Element, separate: bool = False) -> None:
    """Replace ``element`` by its content; ``separate`` puts <br/> around block content."""
    parent = element.getparent()
    assert parent is not None
    children = list(element)
    has_content = has_text(element.text) or bool(children)
    previous = element.getprevious()
    if previous is None:
        content_before = has_text(parent.text)
    else:  # no second <br/> right after one
        content_before = previous.tag != "br" or has_text(previous.tail)
    if separate and has_content and content_before:
        element.addprevious(el("br"))
    text_before(element, element.text)
    element.text = None
    for child in children:
        element.addprevious(child)  # the child's tail moves with it
    if separate and has_content and (has_text(element.tail) or element.getnext() is not None):
        element.addprevious(el("br"))
    detach(element)


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
    if not has_text(element.text) and all(
        child.tag in allowed and not has_text(child.tail) for child in element
    ):
        return
    run: etree._Element | None = None
    for node in _nodes(element):
        if isinstance(node, str):
            if not node.strip():
                if run is not None:
                    append_text(run, node)
                continue
            if run is None:
                run = sub(element, wrapper)
            append_text(run, node)
        elif node.tag in allowed:
            run = None
            element.append(node)
        else:
            if run is None:
                run = sub(element, wrapper)
            run.append(node)


# ----------------------------------------------------------------- the allowlist pass

_GLOBAL_ATTRIBUTES: Final = frozenset({"id", "title", "lang", "dir"})
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    tag: frozenset()
    for tag in names(
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
DROPPED: Final = frozenset(
    names(
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
class ImageSlot:
    """An ``<img>`` waiting for its file: candidate sources, best first, and its alt text."""

    element: etree._Element
    sources: tuple[str, ...]
    alt: str


@dataclass
class Context:
    """What one chapter's conversion remembers: ids, links and images to resolve.

    ``used`` holds the ids taken in the whole book (shared by every chapter), so ids are
    unique across the book; ``suffixes`` (shared the same way) remembers the last number
    given to each id that came up more than once. A post is converted without knowing
    the book: each link that may lead to another post of the book is kept as a link to
    the web and listed in ``post_links`` (with the :func:`link_key` of its target and its
    fragment); the book turns those that do into links to a chapter (``cross_links``
    then lists those with a fragment, by chapter file).
    """

    page_url: str | None
    used: set[str] = field(default_factory=set)
    suffixes: dict[str, int] = field(default_factory=dict)
    images: str = "link"  # embed | link | drop
    own_file: str | None = None
    ids: dict[str, str] = field(default_factory=dict)  # original id → id in the book
    fragment_links: list[tuple[etree._Element, str]] = field(default_factory=list)
    post_links: list[tuple[etree._Element, str, str | None]] = field(default_factory=list)
    cross_links: list[tuple[etree._Element, str, str]] = field(default_factory=list)
    image_slots: list[ImageSlot] = field(default_factory=list)
    noterefs: list[tuple[etree._Element, int]] = field(default_factory=list)
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
        # "note-1" in every post: numbering resumes after the last number given, since
        # base, base-2 … base-N are all taken (ids are never released).
        base, number = candidate, self.suffixes.get(candidate, 1)
        if number > 1:
            candidate = f"{base}-{number}"
        while candidate in self.used:
            number += 1
            candidate = f"{base}-{number}"
        if number > 1:
            self.repairs += 1
            self.suffixes[base] = number
        self.used.add(candidate)
        self.ids.setdefault(original, candidate)
        return candidate


def link_key(url: str) -> str:
    """A page URL compared without scheme (http = https), fragment, case of the host
    or trailing slash: the key under which a post's link is recognised."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}{query}"


_LAZY_SOURCES: Final = ("data-src", "data-lazy-src", "data-original")


def srcset_best(value: str | None) -> str | None:
    """The largest candidate of a srcset (by width or density descriptor)."""
    best, best_size = None, -1.0
    for candidate in (value or "").split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1 and parts[1][-1:] in ("w", "x"):
            try:
                size = float(parts[1][:-1])
            except ValueError:
                size = 1.0
        if size > best_size:
            best, best_size = parts[0], size
    return best


def image_sources(img: etree._Element, picture: etree._Element | None = None) -> tuple[str, ...]:
    """Where the real image of an ``<img>`` is, best first: lazy-loading attributes, then
    ``src``, ``srcset`` and the ``<source>`` elements of a ``<picture>``; an inline
    ``data:`` image (often a lazy-loading placeholder) comes last."""
    found: list[str] = []
    inline: list[str] = []

    def add(value: str | None) -> None:
        value = (value or "").strip()
        if value:
            (inline if value[:5].lower() == "data:" else found).append(value)

    for name in _LAZY_SOURCES:
        add(img.get(name))
    add(img.get("src"))
    for name in ("data-srcset", "srcset"):
        add(srcset_best(img.get(name)))
    if picture is not None:
        for source in picture.iter("source"):
            add(srcset_best(source.get("srcset")) or source.get("src"))
    return tuple(dict.fromkeys(found + inline))


class Converter:
    """Rebuild parsed HTML through the allowlist: valid names, attributes and values."""

    def __init__(self, context: Context, char_refs: bool = True) -> None:
        """``char_refs``: whether the parsed HTML held character references. Its own
        characters are made valid before parsing (:func:`parse_fragment`), so only a
        reference can put an invalid one into the tree."""
        self.context = context
        self.clean: Callable[[str], str] = clean_text if char_refs else str

    def children(self, source: etree._Element, target: etree._Element) -> None:
        clean = self.clean
        text = source.text
        if text:
            append_text(target, clean(text))
        for child in source:
            self.element(child, target)
            tail = child.tail
            if tail:
                append_text(target, clean(tail))

    def element(self, source: etree._Element, target: etree._Element) -> None:
        tag = source.tag
        if not isinstance(tag, str):  # comments, processing instructions, entities
            return
        tag = tag.lower()
        if tag in DROPPED:
            self.context.repairs += 1
            return
        if tag in _MEDIA:
            self.media(tag, source, target)
            return
        if tag == "a":
            self.link(source, target)
            return
        if tag == "fnref":  # a footnote reference (see the notes module)
            number = source.get("n") or ""
            if number.isdigit():
                link = sub(sub(target, "sup"), "a", {"class": "noteref"})
                self.context.noterefs.append((link, int(number)))
            return
        if tag == "bdo" and source.get("dir", "").lower() not in ("ltr", "rtl"):
            tag = "span"
        tag = _RENAMED.get(tag, tag)
        if tag not in _ALLOWED:
            self.context.repairs += 1
            self.children(source, target)  # unknown: keep the content only
            return
        element = sub(target, tag, self.attributes(tag, source))
        self.children(source, element)

    def attributes(self, tag: str, source: etree._Element) -> dict[str, str]:
        result: dict[str, str] = {}
        items = source.items()
        if not items and tag != "bdo":
            return result
        allowed = _ALLOWED.get(tag, frozenset())
        for raw_name, raw_value in items:
            name = str(raw_name).lower()
            value = self.clean(str(raw_value)).strip()
            checked: str | None = None
            if name == "id":
                checked = self.context.unique_id(value)
            elif name == "title":
                checked = one_line(value) or None
            elif name == "lang":
                checked = normalize_language(value)
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
        key = ""
        context = self.context
        if href.startswith("#"):
            fragment = unquote(href[1:])
        elif href:
            key = link_key(href)
            page = context.page_url
            if page and "#" in href and key == link_key(page):
                fragment = unquote(href.split("#", 1)[1])
            else:
                url = safe_url(href)
        if url is None and fragment is None:
            if href:
                context.repairs += 1
            if attributes.get("id"):  # a named anchor: keep it as a target
                element = sub(target, "span", attributes)
                self.children(source, element)
            else:
                self.children(source, target)
            return
        element = sub(target, "a", attributes)
        if url is not None:
            element.set("href", url)
            if not url.startswith("mailto:"):
                element.set("rel", "noopener")
            if key:  # perhaps another post of the book (see Context)
                target_fragment = unquote(href.split("#", 1)[1]) if "#" in href else None
                context.post_links.append((element, key, target_fragment))
        else:
            assert fragment is not None
            context.fragment_links.append((element, fragment))
        self.children(source, element)

    def media(self, tag: str, source: etree._Element, target: etree._Element) -> None:
        """Images: a placeholder ``<img>`` (embed), a link (link) or nothing (drop).
        Other embedded resources become a link to them: no remote resources in a book."""
        picture: etree._Element | None = None
        if tag == "picture":
            picture = source
            source = next(iter(source.iter("img")), source)
            tag = "img"
        description = one_line(source.get("alt") or source.get("title") or source.get("aria-label"))
        if tag in ("img", "image"):
            mode = self.context.images
            sources = image_sources(source, picture)
            if mode == "drop" or not sources:
                self.context.repairs += 1
                return
            if mode == "embed":
                element = sub(target, "img", {"alt": description})
                self.context.image_slots.append(ImageSlot(element, sources, description))
                return
            url = next((u for u in map(safe_url, sources) if u), None)
        else:
            url = source.get("src") or source.get("data")
            if not url and tag in ("video", "audio"):
                url = next((s.get("src") for s in source.iter("source") if s.get("src")), None)
            url = safe_url(url)
        self.context.repairs += 1
        media_link(target, tag, url, description)


def _media_text(tag: str, description: str) -> str:
    label = _MEDIA_LABELS.get(tag, "media")
    return f"[{label}: {description}]" if description else f"[{label}]"


def media_link(target: etree._Element, tag: str, url: str | None, description: str) -> None:
    """Append ``[image: alt]`` to ``target``: a link to ``url`` when there is one."""
    if url is None:
        if description:
            append_text(target, _media_text(tag, description))
        return
    sub(
        target,
        "a",
        {"href": url, "class": "media", "rel": "noopener"},
        _media_text(tag, description),
    )


def replace_image(element: etree._Element, url: str | None, description: str) -> None:
    """Turn a placeholder ``<img>`` into ``[image: alt]``: a link to ``url`` when there is
    one (and the image is not inside a link already), else text."""
    inside_link = any(ancestor.tag == "a" for ancestor in element.iterancestors())
    if url is None or inside_link:
        if description or inside_link:
            text_before(element, _media_text("img", description))
        detach(element)
        return
    element.tag = "a"
    element.attrib.clear()
    element.attrib.update({"href": url, "class": "media", "rel": "noopener"})
    element.text = _media_text("img", description)


def _attribute_value(name: str, value: str) -> str | None:
    """A valid value for an element-specific attribute, or None to drop it."""
    if name in ("cite",):
        return safe_url(value)
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
    names(
        "a abbr b bdi bdo br cite code del dfn em i img ins kbd mark q rt ruby s samp small"
        " span strong sub sup u var wbr"
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
            loose = el("tbody")
            bodies.append(loose)
        if isinstance(node, str):
            append_text(loose, node)
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
    first = figure[0] is caption and not has_text(figure.text)
    last = figure[-1] is caption and not has_text(caption.tail)
    if not first and not last:
        detach(caption)
        figure.append(caption)


#: The elements :func:`_normalize` may change.
_NORMALIZED: Final = frozenset(
    {"ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "figure", "p"}
)


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


def fix_tree(element: etree._Element, outer: frozenset[str] = frozenset()) -> None:
    """Top-down repair of content models (parents are fixed before their children).

    ``outer`` holds the :data:`_NO_NESTING` elements that enclose ``element``.
    """
    if element.tag in _NORMALIZED:
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
            unwrap(child, separate=child.tag not in _PHRASING)
            continue  # look again at what took its place
        if child.tag in _DROP_EMPTY and not (len(child) or has_text(child.text) or child.attrib):
            detach(child)  # e.g. empty paragraphs left over from broken markup
            continue
        if len(child) or child.tag in _NORMALIZED:  # else nothing in it to repair
            fix_tree(child, outer | {child.tag} if child.tag in _NO_NESTING else outer)
        previous = child


def resolve_fragments(parts: list[etree._Element], context: Context) -> None:
    """Keep in-document links whose target exists; unwrap the rest."""
    present = {value for part in parts for value in part.xpath(".//@id")}
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
                unwrap(link)


def parse_fragment(html: str) -> etree._Element | None:
    text = clean_text(html)
    if not text.strip():
        return None
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    body = htmlclean.parse_fragment(text)
    if body is not None:
        _drop_blank_lead(body)
    return body


def _drop_blank_lead(body: etree._Element) -> None:
    """Blank text before the first element is not content."""
    if body.text is not None and not body.text.strip():
        body.text = None


def html_body(
    html: str,
    context: Context,
    item: str,
    notes: list[str] | None = None,
    parsed: etree._Element | None = None,
) -> tuple[etree._Element, etree._Element | None]:
    """Cleaned feed HTML → a valid XHTML ``<div class="content">`` (namespace-less).

    ``html`` may hold ``<fnref n>`` placeholders for the footnotes in ``notes`` (HTML
    fragments): those become EPUB 3 footnotes, ``<aside epub:type="footnote">`` in a
    ``<div class="notes">`` (the second result) with links back to their references.
    ``parsed``: the fragment already parsed (its ``<body>``, as
    :func:`feedconv.markdown.split_footnotes` gives it), for ``html`` not to be parsed
    again; its text is cleaned of what XML cannot hold as it is converted.
    """
    body = el("div", {"class": "content"})
    if parsed is not None:
        _drop_blank_lead(parsed)
        char_refs = True  # the tree's text was never through clean_text
    else:
        parsed = parse_fragment(html)
        char_refs = "&#" in html
    if parsed is None:
        if html.strip():
            logger.warning("%s: could not parse the HTML body; kept it as text", item)
            text_body(body, html)
        return body, None
    converter = Converter(context, char_refs or any("&#" in note for note in notes or ()))
    converter.children(parsed, body)
    fix_tree(body)
    parts = [body]
    asides: list[etree._Element] = []
    notes_div: etree._Element | None = None
    if notes:
        notes_div = el("div", {"class": "notes"})
        for note in notes:
            aside = sub(notes_div, "aside", {"class": "footnote"})
            parsed_note = parse_fragment(note)
            if parsed_note is not None:
                converter.children(parsed_note, aside)
            fix_tree(aside)
            asides.append(aside)
        parts.append(notes_div)
        _link_notes(body, notes_div, asides, context)
    resolve_fragments(parts, context)
    return body, notes_div


def _inside(element: etree._Element, roots: tuple[etree._Element, ...]) -> bool:
    """Whether ``element`` is still in one of the trees ``roots`` (repairs may have
    unwrapped it)."""
    top = element
    for ancestor in element.iterancestors():
        top = ancestor
    return any(top is root for root in roots)


def _link_notes(
    body: etree._Element,
    notes_div: etree._Element,
    asides: list[etree._Element],
    context: Context,
) -> None:
    """Number the references and their notes, and link them both ways."""
    first_ref: dict[int, str] = {}
    note_ids: dict[int, str] = {}
    for link, index in context.noterefs:
        if index >= len(asides) or not _inside(link, (body, notes_div)):
            continue
        number = index + 1
        if index not in note_ids:
            note_ids[index] = context.unique_id(f"note-{number}") or f"note-{number}"
        ref_id = context.unique_id(f"noteref-{number}") or f"noteref-{number}"
        first_ref.setdefault(index, ref_id)
        link.attrib.update({"id": ref_id, "href": "#" + note_ids[index], EPUB_TYPE: "noteref"})
        link.text = str(number)
    for index, aside in enumerate(asides):
        number = index + 1
        if index not in note_ids:  # no reference left in the text: show it as a plain note
            aside.tag = "div"
            aside.attrib.pop("class", None)
            aside.set("class", "note")
            label: etree._Element = el("span", {"class": "note-label"}, f"{number}.")
        else:
            aside.attrib.update({"id": note_ids[index], EPUB_TYPE: "footnote"})
            label = el("a", {"href": "#" + first_ref[index], "class": "note-label"}, f"{number}.")
            label.set("role", "doc-backlink")
        label.tail = " "
        first = next(iter(aside), None)
        if first is not None and first.tag == "p" and not has_text(aside.text):
            label.tail = " " + (first.text or "")
            first.text = None
            first.insert(0, label)
        else:
            paragraph = el("p")
            paragraph.append(label)
            aside.insert(0, paragraph)
            if has_text(aside.text):
                label.tail = " " + (aside.text or "").strip()
                aside.text = None


def text_body(target: etree._Element, text: str) -> None:
    """Plain text → paragraphs (blank lines) with line breaks."""
    for paragraph in re.split(r"\n\s*\n", clean_text(text).strip()):
        if not paragraph.strip():
            continue
        p = sub(target, "p")
        for number, line in enumerate(paragraph.strip().split("\n")):
            if number:
                sub(p, "br")
            append_text(p, line.strip())


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


def document(title: str, lang: str, rtl: bool, css: list[str], body: etree._Element) -> bytes:
    """Serialize one XHTML content document (``css``: the stylesheets it links)."""
    root = el("html", {"lang": lang, "{http://www.w3.org/XML/1998/namespace}lang": lang})
    if rtl:
        root.set("dir", "rtl")
    head = sub(root, "head")
    sub(head, "meta", {"charset": "utf-8"})
    sub(head, "title", None, title or "Untitled")
    for href in css:
        sub(head, "link", {"rel": "stylesheet", "type": "text/css", "href": href})
    if rtl:
        body.set("dir", "rtl")
    root.append(body)
    tree = _namespaced(root)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


class Document(epub.EpubHtml):  # type: ignore[misc]
    """An XHTML document whose bytes we build ourselves (ebooklib would re-parse them
    with the HTML parser and rebuild the head)."""

    def get_content(self, default: bytes | None = None) -> bytes:
        return bytes(self.content)
