"""The one allowlist HTML cleaner: untrusted feed HTML in, safe HTML fragment out.

:func:`clean_fragment` parses a fragment once with lxml, edits the tree in place in one
pre-order walk and serializes it once. What it guarantees:

- Only allowlisted elements and attributes survive. Active content (script, style,
  template, forms controls, frames, svg, ...) is removed with its content. Unknown and
  presentational elements (font, center, ``o:p``, custom tags) keep their children:
  block-level ones become ``<div>``, the rest are unwrapped.
- ``<iframe>``, ``<embed>`` and ``<object>`` never vanish silently: each becomes a link
  to the absolute URL of what it embeds (the player's URL), labelled readably
  ("YouTube video", "Embedded content").
- ``<noscript>`` is unwrapped (it often holds the real ``<img>`` of a lazy-loaded
  image); the lazy placeholder ``<img>`` right before it is then dropped as a duplicate.
- URLs lose whitespace and control characters, ``javascript:``-like and ``data:`` URLs
  are dropped (except inline raster images in ``img src``), relative URLs are resolved
  against ``base_url``; fragment-only links (``#fn1``) stay as they are.
- MathML is kept (allowlisted MathML elements and attributes inside ``<math>``), so
  later stages can render it; SVG is dropped entirely (it may carry script and
  ``foreignObject``). Every image with a source is kept, 1x1 ones included: nothing
  the feed carries is lost silently.
- Code blocks lose the line-number gutters that are only recognisable by their inline
  style (``user-select: none`` spans inside ``<pre>``, as Hugo/Chroma writes them).
- The result is idempotent: cleaning it again with the same base URL changes nothing.
  lxml's HTML parser closes some elements when certain children open (``<p>`` inside
  ``<p>``); unwrapping or renaming an element never creates such a pair: the element
  becomes a ``<span>``/``<div>`` instead (see ``_CLOSED_BY``).

:func:`html_to_text` gives the plain text of a fragment (titles, summaries).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

from lxml import etree

__all__ = ["clean_fragment", "html_to_text", "parse_fragment", "plain_absolute"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- parser

#: The one HTML parser: no network, comments and processing instructions dropped.
_PARSER = etree.HTMLParser(
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    recover=True,
    huge_tree=True,
    default_doctype=False,
)

# Characters that are never kept: C0 controls (except tab, newline, carriage return),
# DEL, lone surrogates and the two XML non-characters. C1 controls are what windows-1252
# bytes become when decoded as Latin-1; map them like the HTML standard maps &#128;-&#159;.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _build_char_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys(range(0x00, 0x20))
    for keep in (0x09, 0x0A, 0x0D):
        del table[keep]
    table[0x0B] = " "
    table[0x0C] = " "
    table[0x7F] = None
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            table[code] = None
    for code in range(0xD800, 0xE000):
        table[code] = None
    table[0xFFFE] = None
    table[0xFFFF] = None
    return table


_CHAR_TABLE = _build_char_table()


def _clean_chars(text: str) -> str:
    """Drop control characters, lone surrogates and non-characters; map C1 to cp1252."""
    if _BAD_CHARS.search(text) is None:
        return text
    return text.translate(_CHAR_TABLE)


def parse_fragment(html: str) -> etree._Element | None:
    """Parse an HTML fragment with the one HTML parser (comments and processing
    instructions dropped, control characters removed); return its ``<body>``."""
    return _parse_body(_clean_chars(html))


def _parse_body(html: str) -> etree._Element | None:
    """Parse a fragment; return its ``<body>`` (the container of the fragment)."""
    try:
        root = etree.fromstring("<html><body>" + html, _PARSER)
    except (etree.LxmlError, ValueError) as exc:  # pragma: no cover - lxml recovers
        log.warning("unparsable HTML fragment dropped: %s", exc)
        return None
    if root is None:  # pragma: no cover - the prefix guarantees a document
        return None
    return root.find("body")


def _drop_tree(el: etree._Element) -> None:
    """Remove ``el`` with its content, keeping its tail text in place."""
    parent = el.getparent()
    if parent is None:  # pragma: no cover - the walk never reaches <body> itself
        return
    if el.tail:
        _append_text(el, el.tail)
    parent.remove(el)


def _drop_tag(el: etree._Element) -> None:
    """Replace ``el`` by its content (text, children and tail stay in place)."""
    parent = el.getparent()
    if parent is None:  # pragma: no cover - the walk never reaches <body> itself
        return
    if el.text and isinstance(el.tag, str):
        _append_text(el, el.text)
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        else:
            _append_text(el, el.tail)
    index = parent.index(el)
    parent[index : index + 1] = list(el)


# --------------------------------------------------------------------------- policy

#: Removed together with their content (matched on the local name: "svg:script" too).
_DROP = frozenset(
    [
        "script",
        "style",
        "template",
        "frame",
        "frameset",
        "noframes",
        "noembed",
        "applet",
        "param",
        "base",
        "basefont",
        "meta",
        "link",
        "head",
        "title",
        "svg",
        "canvas",
        "map",
        "area",
        "input",
        "button",
        "select",
        "textarea",
        "option",
        "optgroup",
        "datalist",
        "output",
        "progress",
        "meter",
        "keygen",
        "menuitem",
        "dialog",
        "slot",
        "portal",
        "annotation-xml",
        "xml",
        "bgsound",
    ]
)

#: Replaced by a link to what they embed (or dropped when they embed nothing usable).
_EMBEDS = frozenset({"iframe", "embed", "object"})

#: Global attributes kept on every allowed element.
_GLOBAL_ATTRS = frozenset({"class", "id", "title", "lang", "dir", "role"})

_IMG_ATTRS = frozenset(
    {
        "src",
        "alt",
        "width",
        "height",
        "srcset",
        "sizes",
        "data-src",
        "data-lazy-src",
        "data-original",
        "data-srcset",
    }
)

#: Allowed HTML elements and their attributes (besides the global ones).
_ALLOWED: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        [
            "p",
            "br",
            "hr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "em",
            "strong",
            "b",
            "i",
            "u",
            "s",
            "mark",
            "small",
            "sub",
            "sup",
            "abbr",
            "cite",
            "dfn",
            "kbd",
            "samp",
            "var",
            "code",
            "pre",
            "tt",
            "dl",
            "dt",
            "dd",
            "thead",
            "tbody",
            "tfoot",
            "tr",
            "caption",
            "figure",
            "figcaption",
            "picture",
            "summary",
            "aside",
            "section",
            "article",
            "header",
            "footer",
            "div",
            "span",
            "ruby",
            "rt",
            "rp",
            "bdi",
            "bdo",
            "wbr",
            "ul",
        ],
        frozenset(),
    ),
    "a": frozenset({"href", "name"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "time": frozenset({"datetime"}),
    "ol": frozenset({"start", "reversed"}),
    "li": frozenset({"value"}),
    "table": frozenset(),
    "th": frozenset({"colspan", "rowspan", "align", "scope"}),
    "td": frozenset({"colspan", "rowspan", "align", "scope"}),
    "colgroup": frozenset({"span"}),
    "col": frozenset({"span"}),
    "img": _IMG_ATTRS,
    "source": frozenset({"src", "srcset", "sizes", "media", "type"}),
    "video": frozenset({"src", "poster", "width", "height", "controls"}),
    "audio": frozenset({"src", "controls"}),
    "track": frozenset({"src", "kind", "srclang", "label", "default"}),
    "details": frozenset({"open"}),
    "math": frozenset({"display", "alttext"}),
}

#: MathML elements kept inside <math>, with the attributes they may carry.
_MATHML_ATTRS = frozenset(
    [
        "class",
        "id",
        "dir",
        "mathvariant",
        "displaystyle",
        "scriptlevel",
        "fence",
        "stretchy",
        "separator",
        "lspace",
        "rspace",
        "accent",
        "accentunder",
        "linethickness",
        "columnalign",
        "rowalign",
        "columnspan",
        "rowspan",
        "notation",
        "open",
        "close",
        "separators",
        "encoding",
        "width",
        "height",
        "depth",
        "form",
        "largeop",
        "movablelimits",
        "symmetric",
        "minsize",
        "maxsize",
    ]
)
_MATHML = frozenset(
    [
        "semantics",
        "annotation",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "mrow",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "mfenced",
        "menclose",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "mlabeledtr",
        "maligngroup",
        "malignmark",
    ]
)

#: Obsolete or unknown elements that carry a meaning an allowed element has.
_RENAME = {
    "strike": "s",
    "acronym": "abbr",
    "listing": "pre",
    "xmp": "pre",
    "plaintext": "pre",
    "dir": "ul",
    "menu": "ul",
    "center": "div",
    "main": "div",
    "nav": "div",
    "address": "div",
    "hgroup": "div",
    "fieldset": "div",
    "search": "div",
    "multicol": "div",
}

#: ``_CLOSED_BY[parent]``: children that lxml's parser (libxml2 2.14) never leaves
#: inside ``parent`` (it closes ``parent`` first). A tree that has no such pair
#: serializes to HTML that parses back to the same tree. Derived by parsing
#: ``<parent><child>``; ``tests/test_htmlclean.py`` checks it against the running lxml.
_CLOSED_BY: dict[str, frozenset[str]] = {
    "a": frozenset(["a", "table", "td", "th"]),
    "b": frozenset(["p", "td", "th"]),
    "caption": frozenset(["col", "colgroup", "tbody", "tfoot", "thead", "tr"]),
    "colgroup": frozenset(["colgroup", "tbody", "tfoot", "thead", "tr"]),
    "dd": frozenset(["dt"]),
    "dl": frozenset(["li"]),
    "dt": frozenset(["dd", "dl"]),
    "h1": frozenset(["li", "p", "table"]),
    "h2": frozenset(["li", "p", "table"]),
    "h3": frozenset(["li", "p", "table"]),
    "h4": frozenset(["li", "p", "table"]),
    "h5": frozenset(["li", "p", "table"]),
    "h6": frozenset(["li", "p", "table"]),
    "i": frozenset(["p", "td", "th"]),
    "li": frozenset(["li"]),
    "p": frozenset(
        [
            "blockquote",
            "caption",
            "col",
            "colgroup",
            "dd",
            "div",
            "dl",
            "dt",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "li",
            "ol",
            "p",
            "pre",
            "table",
            "tbody",
            "td",
            "tfoot",
            "th",
            "tr",
            "ul",
        ]
    ),
    "pre": frozenset(["dd", "dl", "dt", "li", "table", "ul"]),
    "s": frozenset(["p"]),
    "small": frozenset(["p"]),
    "span": frozenset(["td", "th"]),
    "tbody": frozenset(["tbody", "tfoot"]),
    "td": frozenset(["tbody", "td", "tfoot", "th", "tr"]),
    "tfoot": frozenset(["tbody"]),
    "th": frozenset(["tbody", "td", "tfoot", "th", "tr"]),
    "thead": frozenset(["tbody", "tfoot"]),
    "tr": frozenset(["tbody", "tfoot", "tr"]),
    "tt": frozenset(["p"]),
    "u": frozenset(["p", "td", "th"]),
    "ul": frozenset(["pre"]),
}
_NOTHING: frozenset[str] = frozenset()

#: Containers in which an embed's replacement may be a paragraph of its own.
_BLOCK_CONTAINERS = frozenset(
    [
        "body",
        "div",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "figure",
        "blockquote",
        "li",
        "dd",
        "td",
        "th",
        "details",
    ]
)

_URL_ATTRS = frozenset(
    {"href", "src", "poster", "cite", "data-src", "data-lazy-src", "data-original"}
)
_SRCSET_ATTRS = frozenset({"srcset", "data-srcset"})
_INT_ATTRS = frozenset({"colspan", "rowspan", "span", "width", "height"})
_SIGNED_INT_ATTRS = frozenset({"start", "value"})
_BOOL_ATTRS = frozenset({"reversed", "open", "controls", "default"})
_ENUM_ATTRS: dict[str, frozenset[str]] = {
    "dir": frozenset({"ltr", "rtl", "auto"}),
    "align": frozenset({"left", "right", "center", "justify"}),
    "display": frozenset({"block", "inline"}),
}
_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-srcset")

#: HTML5 void elements that libxml2's HTML 4 parser lets hold content.
_VOID_UNKNOWN_TO_PARSER = frozenset({"source", "track", "wbr"})

# Context flags carried down the walk.
_IN_MATH = 1
_IN_LINK = 2
_IN_PRE = 4

# --------------------------------------------------------------------------- URLs

_URL_STRIP = re.compile("[\x00-\x1f\x7f]+")  # control characters, removed anywhere
# See plain_absolute.
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?(?:/[^\s?#;\\]*)?(?:\?[^\s#\\]+)?(?:#[^\s\\]+)?\Z"
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|jpg|gif|webp)[;,]", re.IGNORECASE)
_BAD_SCHEMES = frozenset(
    {
        "javascript",
        "vbscript",
        "livescript",
        "mocha",
        "data",
        "file",
        "blob",
        "filesystem",
        "jar",
        "view-source",
    }
)


def plain_absolute(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL that ``urljoin`` returns unchanged
    whatever the base: a lower-case scheme, a plain host, no blanks, no empty query or
    fragment, no ";" parameters. Most URLs in feeds are such, and skipping ``urljoin``
    (and any other parse) for them saves a third of the URL work."""
    return _PLAIN_ABSOLUTE.match(url) is not None


def _clean_url(value: str, base_url: str | None, *, data_image: bool = False) -> str | None:
    """A safe, absolute (when ``base_url`` is given) URL, or ``None`` to drop it."""
    # Browsers drop leading/trailing blanks and tabs/newlines anywhere ("jav\tascript:").
    url = value.strip()
    if _URL_STRIP.search(url):
        url = _URL_STRIP.sub("", url)
    if not url:
        return None
    if plain_absolute(url):
        return url
    match = _SCHEME.match(url)
    if match is not None:
        scheme = match.group(1).lower()
        if scheme == "data":
            if data_image and _DATA_IMAGE.match(url):
                return url
            return None
        if scheme in _BAD_SCHEMES:
            return None
    if url.startswith("#"):
        return url
    if base_url:
        try:
            url = urljoin(base_url, url)
        except ValueError:
            return None
        match = _SCHEME.match(url)
        if match is not None and match.group(1).lower() in _BAD_SCHEMES:
            return None
    return url


def _parse_srcset(value: str) -> list[tuple[str, str]]:
    """Split a srcset into (url, descriptors) pairs, as the HTML standard does."""
    candidates: list[tuple[str, str]] = []
    i, n = 0, len(value)
    while True:
        while i < n and value[i] in " \t\n\r\f,":
            i += 1
        if i >= n:
            return candidates
        j = i
        while j < n and value[j] not in " \t\n\r\f":
            j += 1
        url = value[i:j]
        i = j
        descriptors = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            k = i
            while k < n:
                char = value[k]
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(0, depth - 1)
                elif char == "," and depth == 0:
                    break
                k += 1
            descriptors = " ".join(value[i:k].split())
            i = k
        if url:
            candidates.append((url, descriptors))


def _clean_srcset(value: str, base_url: str | None) -> str | None:
    parts = []
    for url, descriptors in _parse_srcset(value):
        clean = _clean_url(url, base_url)
        if clean is None:
            continue
        # A comma would end the URL in a srcset: keep such URLs out.
        if "," in clean and not descriptors:
            continue
        parts.append(f"{clean} {descriptors}" if descriptors else clean)
    return ", ".join(parts) or None


# --------------------------------------------------------------------------- embeds


#: host (without "www." or "m."), readable label of what it embeds.
_EMBED_SITES = {
    "youtube.com": "YouTube video",
    "youtube-nocookie.com": "YouTube video",
    "player.vimeo.com": "Vimeo video",
    "w.soundcloud.com": "SoundCloud audio",
    "open.spotify.com": "Spotify audio",
}


def _embed_label(url: str) -> str:
    """A readable label for the URL of an iframe, embed or object."""
    try:
        host = (urlsplit(url).hostname or "").removeprefix("www.").removeprefix("m.")
    except ValueError:
        return "Embedded content"
    return _EMBED_SITES.get(host, "Embedded content")


def _embed_source(el: etree._Element) -> str | None:
    if el.tag == "object":
        source = el.get("data")
        if not source:
            for param in el.iter("param"):
                if (param.get("name") or "").lower() in ("movie", "src", "url"):
                    source = param.get("value")
                    break
        if not source:
            for inner in el.iter("embed"):
                source = inner.get("src")
                break
        return source
    return el.get("src")


# --------------------------------------------------------------------------- tree edits


def _fits(parent_tag: str, tag: str, child_tags: Iterable[str]) -> bool:
    """True when ``tag`` can sit in ``parent_tag`` and hold ``child_tags`` stably."""
    if tag in _CLOSED_BY.get(parent_tag, _NOTHING):
        return False
    closed = _CLOSED_BY.get(tag, _NOTHING)
    return not any(child in closed for child in child_tags)


def _child_tags(el: etree._Element) -> set[str]:
    return {child.tag for child in el if isinstance(child.tag, str)}


def _retag_or_unwrap(el: etree._Element, target: str | None) -> bool:
    """Rename ``el`` to ``target`` (or unwrap it when ``target`` is None) without
    creating a parent/child pair the parser would split. Returns True when ``el``
    stays in the tree (renamed), False when it was unwrapped."""
    parent = el.getparent()
    parent_tag = parent.tag if parent is not None else "body"
    children = _child_tags(el)
    if target is None:
        closed = _CLOSED_BY.get(parent_tag, _NOTHING)
        if not any(child in closed for child in children):
            _drop_tag(el)
            return False
        candidates: tuple[str, ...] = ("span", "div")
    else:
        candidates = (target, "span", "div")
    for candidate in candidates:
        if _fits(parent_tag, candidate, children):
            el.tag = candidate
            el.attrib.clear()
            return True
    # Only stray table cells conflict with <span> (and nothing closes a <span>).
    el.tag = "span"
    el.attrib.clear()
    for child in el:
        if child.tag in _CLOSED_BY["span"]:
            child.tag = "span"
    return True


def _append_text(el: etree._Element, text: str) -> None:
    """Insert ``text`` right before ``el`` in document order."""
    previous = el.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = el.getparent()
        if parent is not None:
            parent.text = (parent.text or "") + text


def _replace_embed(el: etree._Element, ctx: int, base_url: str | None) -> None:
    source = _embed_source(el)
    url = _clean_url(source, base_url) if source else None
    if url is None or url.startswith("#"):
        _drop_tree(el)
        return
    label = _embed_label(url)
    parent = el.getparent()
    parent_tag = parent.tag if parent is not None else "body"
    if ctx & (_IN_LINK | _IN_MATH):
        _append_text(el, f"{label}: {url}")
    else:
        anchor = el.makeelement("a", {"href": url})
        anchor.text = label
        if parent_tag in _BLOCK_CONTAINERS and _fits(parent_tag, "p", ("a",)):
            para = el.makeelement("p", {})
            para.append(anchor)
            el.addprevious(para)
        else:
            el.addprevious(anchor)
    _drop_tree(el)


def _hoist_content(el: etree._Element) -> None:
    """Move the content of a void element the parser did not know as void (libxml2
    nests what follows <source>, <track> or <wbr> inside them) to after it."""
    old_tail = el.tail
    el.tail = el.text
    el.text = None
    anchor = el
    for child in list(el):
        anchor.addnext(child)
        anchor = child
    if old_tail:
        anchor.tail = (anchor.tail or "") + old_tail


def _is_lazy_placeholder(img: etree._Element) -> bool:
    if any(img.get(name) for name in _LAZY_ATTRS):
        return True
    src = (img.get("src") or "").strip()
    return not src or src.lower().startswith("data:") or "lazy" in (img.get("class") or "")


def _drop_lazy_twin(noscript: etree._Element) -> None:
    """Drop the lazy placeholder <img> right before a <noscript> holding the real one."""
    previous = noscript.getprevious()
    if (
        previous is not None
        and previous.tag == "img"
        and not (previous.tail or "").strip()
        and next(noscript.iter("img"), None) is not None
        and _is_lazy_placeholder(previous)
    ):
        _drop_tree(previous)


def _clean_value(name: str, value: str, tag: str, base_url: str | None) -> str | None:
    """The cleaned value of an allowed attribute (its characters already cleaned), or
    None to drop the attribute."""
    if name in _URL_ATTRS:
        return _clean_url(value, base_url, data_image=name == "src" and tag == "img")
    if name in _SRCSET_ATTRS:
        return _clean_srcset(value, base_url)
    if name == "class":
        return " ".join(value.split()) or None
    if name in _INT_ATTRS:
        value = value.strip()
        return value if value.isdigit() and len(value) < 10 else None
    if name in _SIGNED_INT_ATTRS:
        value = value.strip()
        digits = value.removeprefix("-")
        return value if digits.isdigit() and len(digits) < 10 else None
    if name in _BOOL_ATTRS:
        return ""
    if name in _ENUM_ATTRS:
        value = value.strip().lower()
        return value if value in _ENUM_ATTRS[name] else None
    return value


def _clean_attributes(
    el: etree._Element,
    allowed: frozenset[str],
    base_url: str | None,
    items: list[tuple[str, str]],
    char_refs: bool,
) -> None:
    """Keep the allowed attributes of ``el`` (``items``: its attributes), cleaned.
    ``char_refs``: as in :func:`_walk` (without references, values hold no bad character)."""
    # Read items() rather than attrib[name]: the HTML parser accepts attribute names
    # that lxml refuses to look up by name, so the attributes are rebuilt when needed.
    kept: list[tuple[str, str]] = []
    changed = False
    for name, value in items:
        clean = None
        if name in allowed or name in _GLOBAL_ATTRS:
            text = _clean_chars(value) if char_refs else value
            clean = _clean_value(name, text, el.tag, base_url)
        if clean is None or clean != value:
            changed = True
        if clean is not None:
            kept.append((name, clean))
    if changed:
        attrib = el.attrib
        attrib.clear()
        for name, value in kept:
            attrib[name] = value


def _has_image_source(img: etree._Element) -> bool:
    if any(img.get(name) for name in ("src", "srcset", *_LAZY_ATTRS)):
        return True
    parent = img.getparent()
    return parent is not None and parent.tag == "picture"


def _clean_text_nodes(el: etree._Element) -> None:
    text = el.text
    if text and _BAD_CHARS.search(text):
        el.text = _clean_chars(text)
    tail = el.tail
    if tail and _BAD_CHARS.search(tail):
        el.tail = _clean_chars(tail)


def _is_gutter(span: etree._Element) -> bool:
    """A <span> in <pre> that is a line-number gutter of a highlighted code block."""
    style = span.get("style")
    return bool(style) and "user-select:none" in "".join(style.split()).lower()


#: Allowed elements that need nothing but their attributes cleaned, with the context
#: flag they set for their content.
_PLAIN_FLAGS: dict[object, int] = {
    tag: 0
    for tag in _ALLOWED
    if tag not in ("img", "video", "audio", "math", *_VOID_UNKNOWN_TO_PARSER)
}
_PLAIN_FLAGS["a"] = _IN_LINK
_PLAIN_FLAGS["pre"] = _IN_PRE


def _walk(body: etree._Element, base_url: str | None, char_refs: bool = True) -> None:
    """Clean the tree under ``body`` in one pre-order walk (no recursion).

    ``char_refs``: whether the fragment held character references. The fragment's own
    characters were cleaned before parsing, so without references the text nodes hold
    no bad character and are not searched again."""
    if char_refs:
        _clean_text_nodes(body)
    stack: list[tuple[etree._Element, int]] = [(child, 0) for child in reversed(body)]
    while stack:
        el, ctx = stack.pop()
        tag = el.tag
        flag = _PLAIN_FLAGS.get(tag)
        if flag is not None and not ctx & _IN_MATH:
            # The common case: an allowed element that needs no more than its
            # attributes cleaned (the general path below does the same for it).
            if char_refs:
                _clean_text_nodes(el)
            if tag == "span" and ctx & _IN_PRE and _is_gutter(el):
                _drop_tree(el)
                continue
            items = el.items()
            if items:
                _clean_attributes(el, _ALLOWED[tag], base_url, items, char_refs)
            if len(el):
                ctx |= flag
                stack.extend((child, ctx) for child in reversed(el))
            continue
        if not isinstance(tag, str):  # comment, PI or entity that slipped through
            _drop_tree(el)
            continue
        tag = tag.lower()
        local = tag.rpartition(":")[2]
        if local in _DROP:
            _drop_tree(el)
            continue
        if char_refs:
            _clean_text_nodes(el)
        children = list(el)
        if tag in _EMBEDS:
            _replace_embed(el, ctx, base_url)
            continue
        if ctx & _IN_MATH:
            if tag in _MATHML:
                _clean_attributes(el, _MATHML_ATTRS, base_url, el.items(), char_refs)
            else:
                _retag_or_unwrap(el, None)
            stack.extend((child, ctx) for child in reversed(children))
            continue
        if tag == "noscript":
            _drop_lazy_twin(el)
            _retag_or_unwrap(el, None)
            stack.extend((child, ctx) for child in reversed(children))
            continue
        if tag in _RENAME:
            if not _retag_or_unwrap(el, _RENAME[tag]):
                stack.extend((child, ctx) for child in reversed(children))
                continue
            tag = el.tag
        allowed = _ALLOWED.get(tag)
        if allowed is None:
            _retag_or_unwrap(el, None)
            stack.extend((child, ctx) for child in reversed(children))
            continue
        if tag == "span" and ctx & _IN_PRE and _is_gutter(el):
            _drop_tree(el)
            continue
        if el.tag != tag:
            el.tag = tag
        _clean_attributes(el, allowed, base_url, el.items(), char_refs)
        if tag in _VOID_UNKNOWN_TO_PARSER and (el.text or len(el)):
            parent = el.getparent()
            if parent is not None and not _CLOSED_BY.get(parent.tag, _NOTHING) & _child_tags(el):
                _hoist_content(el)
        if tag == "img":
            if not _has_image_source(el):
                _drop_tree(el)
                continue
        elif tag in ("video", "audio"):
            el.set("controls", "")
        elif tag == "math":
            ctx |= _IN_MATH
        elif tag == "a":
            ctx |= _IN_LINK
        elif tag == "pre":
            ctx |= _IN_PRE
        stack.extend((child, ctx) for child in reversed(children))


# --------------------------------------------------------------------------- public API


def clean_fragment(html: str, base_url: str | None = None) -> str:
    """Return ``html`` (an untrusted fragment) as a safe, allowlisted HTML fragment.

    Relative URLs are made absolute against ``base_url`` when it is given. Empty or
    whitespace-only input gives "". Never raises for any input string.
    """
    if not html or html.isspace():
        return ""
    body = parse_fragment(html)
    if body is None:
        return ""
    _walk(body, base_url, char_refs="&#" in html)
    for item in body.iter("li"):
        # libxml2 omits the end tag of an empty <li>, which would swallow its tail
        # text on the next parse; an empty text node keeps the end tag.
        if not item.text and not len(item):
            item.text = ""
    body.attrib.clear()
    body.tail = None
    serialized = etree.tostring(body, method="html", encoding="unicode")
    # "<body>" + content + "</body>", or "<body></body>" for nothing.
    return serialized[len("<body>") : -len("</body>")].strip()


#: Elements whose boundaries separate words in plain text.
_TEXT_BREAKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: entities decoded, whitespace collapsed."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return " ".join(_clean_chars(html).split())
    body = parse_fragment(html)
    if body is None:
        return ""
    for el in list(body.iter()):
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag.rpartition(":")[2] in _DROP or tag in _EMBEDS:
            # Dropping a subtree while iterating: its descendants are detached, and
            # editing them has no effect on the result.
            _drop_tree(el)
        elif tag in _TEXT_BREAKS:
            el.text = " " + (el.text or "")
            el.tail = " " + (el.tail or "")
    text = "".join(body.itertext())
    return " ".join(_clean_chars(text).split())
