"""HTML → Markdown: the markdownify ``MarkdownConverter`` subclass feedconv uses.

Input is a fragment cleaned by :func:`feedconv.htmlclean.clean_fragment`; output is
CommonMark, with GitHub's extensions (pipe tables, ``~~strike~~``, ``[^n]`` footnotes,
``> [!NOTE]`` alerts) in the ``gfm`` flavor and Obsidian's (``==mark==``, ``> [!note]``
callouts, ``![[image]]`` embeds of downloaded images) in the ``obsidian`` flavor.

Two stages, both over one BeautifulSoup tree, built straight from lxml's parse (the
same tree BeautifulSoup's lxml builder makes, for a fraction of its cost):

1. a pre-pass that repairs what the HTML parser or the author left in a shape no
   Markdown can express: a ``<ul>`` directly inside a ``<ul>``, ``<br>`` between list
   items, a heading the parser closed before its ``<p>``, links, emphasis and spans
   wrapped around whole blocks, and footnotes (references and bodies of every common
   generator are recognised and turned into ``[^n]``);
2. the converter: one ``convert_<tag>`` method per rule. Markup that Markdown cannot
   express stays as inline HTML only for ``<sub>``, ``<sup>``, ``<mark>`` (outside
   Obsidian), a strikethrough in plain CommonMark and MathML without a TeX annotation.

All markdownify options are set in ``_Converter.Options``. No regular expression
touches the Markdown after conversion: :func:`_normalize` only trims blank lines and
trailing spaces line by line. Speed: every pass walks the tree once (no BeautifulSoup
``find_all`` per element), and ``process_tag`` follows markdownify's rules without its
per-element search for an enclosing ``<pre>``.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
from lxml import etree
from markdownify import ATX, BACKSLASH, STRIP, MarkdownConverter

from feedconv.htmlclean import parse_fragment

__all__ = [
    "FLAVORS",
    "Conversion",
    "MarkdownOptions",
    "convert",
    "html_to_markdown",
    "image_sources",
    "number_footnotes",
    "split_footnotes",
]

log = logging.getLogger(__name__)

#: The Markdown dialects feedconv writes.
FLAVORS = ("gfm", "commonmark", "obsidian")

#: Elements nested deeper than this are unwrapped before conversion (markdownify recurses).
MAX_DEPTH = 120

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "blockquote",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "figure",
        "figcaption",
        "pre",
        *_HEADINGS,
        "hr",
        "details",
        "summary",
        "body",
        "html",
        "[document]",
    ]
)

#: Blocks a GFM table cell cannot hold even with ``<br>``: such tables are flattened.
_COMPLEX_CELL = ("pre", "table", "blockquote", "hr", *_HEADINGS)

# Escaping of text (small regexes inside the escape rule, on one text node at a time).
_ESCAPE_ALWAYS = re.compile(r"([\\`*\[])")
_ESCAPE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_ESCAPE_LT = re.compile(r"<(?=[A-Za-z/!?]|$)")
_ESCAPE_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_ESCAPE_TAG = re.compile(r"#(?=[^\s#])")  # Obsidian reads "#word" as a tag
# At the start of a line: a quote marker, a heading, a bullet, an ordered-list marker,
# a setext underline or thematic break, a tilde fence.
_LINE_START = re.compile(
    r"^([ \t]*)(?:(>|#{1,6}(?=[ \t]|$)|[+\-](?=[ \t]|$)|~~~|=+[ \t]*$|-[ \t-]*$)"
    r"|([0-9]{1,9})([.)])(?=[ \t]|$))"
)
#: Any character one of the rules below may escape (a quick test before running them).
_MAY_ESCAPE = re.compile(r"[\\`*\[\]~$=#_<&|]")
_WHITESPACE = re.compile(r"[ \t\r\n\f]+")
_BACKTICKS = re.compile(r"`+")

# Languages of code blocks, from class names.
_LANG_PREFIXES = ("language-", "lang-", "lng-", "highlight-source-", "highlight-")
_LANG_GENERIC = frozenset(
    [
        "highlight",
        "sourcecode",
        "notranslate",
        "chroma",
        "code",
        "hljs",
        "codehilite",
        "prettyprint",
        "linenums",
        "numberlines",
        "source",
        "syntax",
        "default",
        "none",
        "plaintext",
        "plain",
        "text",
        "nohighlight",
        "wp-block-code",
        "wp-block-preformatted",
        "literal-block",
        "code-block",
        "codeblock",
        "block",
        "shiki",
    ]
)
_LANG_CHARS = re.compile(r"[^0-9A-Za-z_+#.\-]")
_BRUSH = re.compile(r"brush:\s*([0-9A-Za-z_+#.\-]+)")
_GUTTER = re.compile(
    r"^(?:linenos?|linenodiv|lineno|lnt?|line[-_]?numbers?|line[-_]?nos|gutter|rouge-gutter"
    r"|line-number|code-line-number)$",
    re.IGNORECASE,
)
_CODE_TABLES = frozenset({"highlighttable", "lntable", "coderay", "rouge-table", "code-table"})

_LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original")

#: Admonition classes → GitHub alert type (Obsidian callouts use the same names).
_ALERTS = {
    "note": "NOTE",
    "info": "NOTE",
    "seealso": "NOTE",
    "tip": "TIP",
    "hint": "TIP",
    "important": "IMPORTANT",
    "warning": "WARNING",
    "attention": "WARNING",
    "caution": "CAUTION",
    "danger": "CAUTION",
    "error": "CAUTION",
}
_ADMONITION_CLASSES = frozenset({"admonition", "callout", "alert", "notice", *_ALERTS})

#: The elements that write the same delimiters as each inline element.
_SAME_MARK = {
    "em": frozenset(["em", "i", "cite", "dfn", "var"]),
    "strong": frozenset(["strong", "b"]),
    "del": frozenset(["del", "s"]),
    "mark": frozenset(["mark"]),
}

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»…–—")

# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class MarkdownOptions:
    """How to write one fragment.

    ``top_heading``: the shallowest heading level the fragment may use; headings above it
    are shifted down (deeper levels stop at 6). ``page_url``: the post's own URL, so that
    footnote references written as absolute links to it are recognised. ``footnote_start``:
    the first footnote number (a document numbers its posts' notes continuously); with
    None the numbers are left as slots for :func:`number_footnotes` to fill in later.
    ``images``: remote image URL → local path, for downloaded images.
    """

    flavor: str = "gfm"
    top_heading: int | None = None
    page_url: str | None = None
    footnote_start: int | None = 1
    images: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversion:
    markdown: str
    footnotes: int


# A footnote number slot is NOTE_SLOT + index + NOTE_SLOT. NUL never occurs in converted
# text: the fragment is parsed into an lxml tree, which cannot hold it.
NOTE_SLOT = "\x00"


def number_footnotes(markdown: str, start: int) -> str:
    """Fill the footnote slots of a conversion made with ``footnote_start=None``, so that
    its notes are numbered from ``start``. A document converts its posts ahead, in any
    process, and numbers their notes here, in order."""
    if NOTE_SLOT not in markdown:
        return markdown
    parts = markdown.split(NOTE_SLOT)
    parts[1::2] = [str(start + int(index)) for index in parts[1::2]]
    return "".join(parts)


# --------------------------------------------------------------------------- helpers


def _classes(el: Any) -> list[str]:
    if not isinstance(el, Tag):
        return []
    value = el.get("class")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else str(value).split()


def _tags(root: Tag) -> list[Tag]:
    """Every element under ``root``, in document order."""
    return [node for node in root.descendants if isinstance(node, Tag)]


def _find(root: Tag, names: Collection[str]) -> Tag | None:
    """The first element under ``root`` named one of ``names`` (cheaper than
    BeautifulSoup's ``find``, which builds a filter for every call)."""
    for node in root.descendants:
        if isinstance(node, Tag) and node.name in names:
            return node
    return None


def _child(el: Tag, name: str) -> Tag | None:
    for child in el.contents:
        if isinstance(child, Tag) and child.name == name:
            return child
    return None


def _attr(el: Tag, name: str) -> str:
    value = el.get(name)
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else str(value)


def _language_of(classes: list[str]) -> str | None:
    joined = " ".join(classes)
    brush = _BRUSH.search(joined)
    if brush:
        return brush.group(1)
    for name in classes:
        lower = name.lower()
        for prefix in _LANG_PREFIXES:
            if lower.startswith(prefix) and len(lower) > len(prefix):
                candidate = lower[len(prefix) :]
                if prefix == "highlight-" and candidate.startswith("text-"):
                    candidate = candidate[len("text-") :].split("-")[0]
                if candidate not in _LANG_GENERIC:
                    return candidate
    lowered = [name.lower() for name in classes]
    if "sourcecode" in lowered or "highlight" in lowered:
        # Pandoc's "sourceCode python", Sphinx/Pygments' "highlight python".
        for name in lowered:
            if name not in _LANG_GENERIC and not name.startswith(_LANG_PREFIXES):
                return name
    return None


def _code_language(block: Tag) -> str:
    """The language of a code block, from classes on <pre>, its <code> or wrappers."""
    code = _child(block, "code") if block.name == "pre" else None
    candidates: list[Tag | None] = [code, block]
    parent = block.parent
    for _ in range(3):
        if isinstance(parent, Tag) and parent.name in ("div", "figure", "td"):
            candidates.append(parent)
            parent = parent.parent
        else:
            break
    for el in candidates:
        language = _language_of(_classes(el))
        if language:
            return _LANG_CHARS.sub("", language)
    return ""


def _is_gutter(el: Tag) -> bool:
    return any(_GUTTER.match(name) for name in _classes(el))


def _pre_text(pre: Tag) -> str:
    """The verbatim text of a code block (<br> counts as a line break; gutters dropped)."""
    parts: list[str] = []
    skip: Tag | None = None
    for node in pre.descendants:
        if skip is not None:
            if node is skip or skip in node.parents:
                continue
            skip = None
        if isinstance(node, Tag):
            if node.name == "br":
                parts.append("\n")
            elif _is_gutter(node):
                skip = node
        elif isinstance(node, NavigableString) and not isinstance(node, Comment):
            parts.append(str(node))
    lines = [line.rstrip() for line in "".join(parts).replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _fence_for(code: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    return "`" * max(3, longest + 1)


def _destination(url: str) -> str:
    """A link destination CommonMark (and a GFM table cell) reads back as ``url``."""
    url = url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    depth = 0
    balanced = True
    for char in url:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                balanced = False
                break
    if not balanced or depth:
        url = url.replace("(", "\\(").replace(")", "\\)")
    return url


def _title_part(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        return ""
    return ' "' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _srcset_best(value: str) -> str:
    """The largest candidate of a srcset (by width or density descriptor)."""
    best, best_size = "", -1.0
    for candidate in value.split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1:
            descriptor = parts[1]
            try:
                size = float(descriptor[:-1]) if descriptor[-1:] in ("w", "x") else 1.0
            except ValueError:
                size = 1.0
        if size > best_size:
            best, best_size = parts[0], size
    return best


def _image_source(img: Tag) -> str:
    """The real image of an <img>: lazy-loading attributes first, then src, srcset and
    the <source> elements of an enclosing <picture>."""
    for name in _LAZY_SOURCES:
        value = _attr(img, name).strip()
        if value and not value.startswith("data:"):
            return value
    src = _attr(img, "src").strip()
    if src and not src.startswith("data:"):
        return src
    for name in ("data-srcset", "srcset"):
        best = _srcset_best(_attr(img, name))
        if best:
            return best
    parent = img.parent
    if isinstance(parent, Tag) and parent.name == "picture":
        for source in parent.find_all("source", recursive=False):
            best = _srcset_best(_attr(source, "srcset")) or _attr(source, "src")
            if best:
                return best
    return src  # an inline data: image, or nothing


def _meaningful(node: Any) -> bool:
    if isinstance(node, Tag):
        return True
    return (
        isinstance(node, NavigableString) and not isinstance(node, Comment) and bool(node.strip())
    )


def _next_meaningful(node: Any) -> Any:
    sibling = node.next_sibling
    while sibling is not None and not _meaningful(sibling):
        sibling = sibling.next_sibling
    return sibling


def _previous_meaningful(node: Any) -> Any:
    sibling = node.previous_sibling
    while sibling is not None and not _meaningful(sibling):
        sibling = sibling.previous_sibling
    return sibling


def _is_block(node: Any) -> bool:
    return isinstance(node, Tag) and node.name in _BLOCKS


def _at_block_edge(node: Any, forward: bool) -> bool:
    """True when nothing but whitespace separates ``node`` from its block's edge."""
    current: Any = node
    while True:
        sibling = _next_meaningful(current) if forward else _previous_meaningful(current)
        if sibling is not None:
            return _is_block(sibling)
        parent = current.parent
        if parent is None or _is_block(parent):
            return True
        current = parent


def _starts_line(node: Any) -> bool:
    """True when the text of ``node`` begins a line of the output."""
    current: Any = node
    while True:
        sibling = _previous_meaningful(current)
        if sibling is not None:
            return isinstance(sibling, Tag) and (sibling.name == "br" or _is_block(sibling))
        parent = current.parent
        if parent is None or _is_block(parent):
            return True
        current = parent


def _breaks_before(sibling: Any, parent: Any) -> bool:
    """True when a text next to ``sibling`` (None: the edge of ``parent``) meets a line
    edge, where its spaces are dropped."""
    if sibling is None:
        return _is_block(parent)
    return _is_block(sibling) or (isinstance(sibling, Tag) and sibling.name == "br")


def _has_content(el: Tag) -> bool:
    return bool(el.get_text().strip()) or _find(el, ("img",)) is not None


def _words(text: str) -> str:
    return " ".join(text.split())


def _chomp(text: str) -> tuple[str, str, str]:
    """(leading space, trailing space, the text between) of an inline element's text:
    Markdown delimiters must touch the text, so its spaces move outside them. Ordinary
    spaces collapse to one; no-break and other Unicode spaces are kept as they are."""
    core = text.strip()
    return (
        _outer_space(text[: len(text) - len(text.lstrip())]),
        _outer_space(text[len(text.rstrip()) :]),
        core,
    )


def _chomp_inline(el: Tag, text: str) -> tuple[str, str, str]:
    """:func:`_chomp` for the text of ``el``; a space that would start or end a line
    (at the edge of a block) or double the space of the text beside it is dropped."""
    prefix, suffix, core = _chomp(text)
    if prefix == " " and (_spaced(el.previous_sibling, -1) or _at_block_edge(el, False)):
        prefix = ""
    if suffix == " " and (_spaced(el.next_sibling, 0) or _at_block_edge(el, True)):
        suffix = ""
    return prefix, suffix, core


def _spaced(node: Any, end: int) -> bool:
    """True when ``node`` is text with a space at its end (-1) or start (0)."""
    if not isinstance(node, NavigableString) or isinstance(node, Comment) or not node:
        return False
    return node[end] in " \t\r\n\f"


def _outer_space(space: str) -> str:
    if not space:
        return ""
    kept = "".join(ch for ch in space if ch not in " \t\r\n\f")
    return kept or " "


def _indent(text: str, first: str, rest: str) -> str:
    """Prefix the first line with ``first`` and the other non-blank lines with ``rest``."""
    lines = text.split("\n")
    out = [first + lines[0]]
    out.extend(rest + line if line else "" for line in lines[1:])
    return "\n".join(out)


def _quote(text: str, head: str = "") -> str:
    lines = ([head] if head else []) + text.split("\n")
    return "\n".join("> " + line if line else ">" for line in lines)


# --------------------------------------------------------------------------- pre-pass


def _flatten_deep(soup: BeautifulSoup) -> None:
    """Unwrap elements nested deeper than MAX_DEPTH so markdownify cannot recurse too far."""
    too_deep: list[Tag] = []
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        node, depth = stack.pop()
        for child in node.contents:
            if isinstance(child, Tag):
                if depth + 1 > MAX_DEPTH:
                    too_deep.append(child)
                else:
                    stack.append((child, depth + 1))
    if not too_deep:
        return
    log.warning("HTML nested deeper than %d levels flattened", MAX_DEPTH)
    for tag in too_deep:
        # Keep only the text of the too-deep subtree.
        tag.replace_with(NavigableString(tag.get_text()))


def _repair_headings(headings: list[Tag]) -> None:
    """``<h2><p>Title</p></h2>``: libxml2 closes the heading when the <p> opens, leaving
    an empty heading before the paragraph that was its text. Put the text back."""
    for heading in headings:
        if _has_content(heading):
            continue
        following = _next_meaningful(heading)
        if isinstance(following, Tag) and following.name == "p" and _has_content(following):
            for child in list(following.contents):
                heading.append(child.extract())
            following.extract()


_MERGED = frozenset(["strong", "b", "em", "i", "del", "s", "code"])


def _merge_adjacent(runs: list[Tag]) -> None:
    """``<b>a</b><b>b</b>`` → ``<b>ab</b>`` (two runs in a row would read as ``****``)."""
    for el in reversed(runs):
        following = el.next_sibling
        if isinstance(following, Tag) and following.name == el.name and el.parent is not None:
            for child in list(following.contents):
                el.append(child.extract())
            following.extract()


def _repair_lists(soup: BeautifulSoup, lists: list[Tag]) -> None:
    """Give every child of a list an <li>, as browsers show it: a list or text directly
    inside a list joins the item before it; <br> between items is dropped."""
    for lst in lists:
        for child in list(lst.children):
            if isinstance(child, Tag):
                if child.name == "li":
                    continue
                if child.name == "br":
                    child.extract()
                    continue
            elif not _meaningful(child):
                continue
            previous = child.previous_sibling
            while previous is not None and not (
                isinstance(previous, Tag) and previous.name == "li"
            ):
                previous = previous.previous_sibling
            if previous is None:
                item = soup.new_tag("li")
                child.insert_before(item)
                item.append(child.extract())
            else:
                previous.append(child.extract())


#: Blocks made of other blocks: inline markup goes into their items, rows and cells.
_BLOCK_CONTAINERS = frozenset(["ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr"])


def _has_block(el: Tag) -> bool:
    return any(isinstance(node, Tag) and node.name in _BLOCKS for node in el.descendants)


def _shallow_copy(soup: BeautifulSoup, el: Tag) -> Tag:
    copy = soup.new_tag(el.name)
    copy.attrs = el.attrs.copy()
    return copy


def _push_markup_into_blocks(soup: BeautifulSoup) -> None:
    """``<a href><h2>Title</h2></a>`` → ``<h2><a href>Title</a></h2>``, and the same for
    emphasis and spans (``<b><span>text<table>…</table></span></b>``, as word processors
    write it): Markdown links and delimiters are inline, so an inline element around
    blocks is repeated inside each of them and around each run of inline content between
    them. Code blocks take none."""
    tags = [node for node in soup.descendants if isinstance(node, Tag)]
    around: set[int] = set()
    seen: set[int] = set()
    for tag in tags:
        if tag.name in _BLOCKS:
            node = tag.parent
            while node is not None and id(node) not in seen:
                seen.add(id(node))
                if node.name not in _BLOCKS and node.name != "math":
                    around.add(id(node))
                node = node.parent
    for tag in tags:
        if tag.name == "pre":  # code keeps its markup as it is (no delimiters there)
            around.difference_update(id(node) for node in tag.descendants)
    # Innermost first, so that an element's inline children no longer hold blocks.
    work = [tag for tag in tags if id(tag) in around]
    while work:
        el = work.pop()
        if el.parent is None:
            continue
        run: list[Any] = []
        for child in [*el.children, None]:
            if child is not None and not _is_block(child):
                run.append(child)
                continue
            if any(_meaningful(node) for node in run):
                wrapper = _shallow_copy(soup, el)
                run[0].insert_before(wrapper)
                for node in run:
                    wrapper.append(node.extract())
            run = []
            if isinstance(child, Tag):
                _push_into(soup, el, child, work)
        el.unwrap()


def _push_into(soup: BeautifulSoup, markup: Tag, block: Tag, work: list[Tag]) -> None:
    if block.name in ("pre", "hr"):
        return
    if block.name in _BLOCK_CONTAINERS:
        for child in block.children:
            if isinstance(child, Tag) and child.name in _BLOCKS:
                _push_into(soup, markup, child, work)
        return
    if not any(_meaningful(node) for node in block.contents):
        return
    inner = _shallow_copy(soup, markup)
    for child in list(block.contents):
        inner.append(child.extract())
    block.append(inner)
    if _has_block(inner):
        work.append(inner)


# --------------------------------------------------------------------------- footnotes

_NOTE_ROLES = frozenset({"doc-endnotes", "doc-footnote", "doc-endnote", "doc-footnotes"})
_REF_ROLES = frozenset({"doc-noteref"})
_NOTE_ID = re.compile(r"^(?:fn|footnote|note|endnote)[-_:]?\w", re.IGNORECASE)
_BACKREF_TEXT = frozenset({"↩", "↩︎", "↑", "^", "⤴", "back", "return"})
_NOTES_TITLES = frozenset(["footnote", "footnotes", "note", "notes", "endnote", "endnotes"])
_ITEM_TAGS = ("li", "aside", "div", "section", "p", "dd", "dt", "table", "footer", "tr")


def _notey(el: Tag) -> bool:
    """An element that holds footnotes (a list of them or one of them)."""
    if _attr(el, "role").lower() in _NOTE_ROLES:
        return True
    names = " ".join(_classes(el)).lower()
    if "footnote" in names and "ref" not in names:
        return True
    return el.name == "li" and bool(_NOTE_ID.match(_attr(el, "id")))


def _same_page_fragment(href: str, page_url: str | None) -> str:
    href = href.strip()
    if href.startswith("#"):
        return href[1:]
    if page_url and "#" in href:
        url, fragment = urldefrag(href)
        if url and url == urldefrag(page_url)[0]:
            return fragment
    return ""


def _is_backref(link: Tag, page_url: str | None, ref_ids: set[str]) -> bool:
    names = " ".join(_classes(link)).lower()
    if (
        _attr(link, "role").lower() == "doc-backlink"
        or "backref" in names
        or "backlink" in names
        or "reversefootnote" in names
        or _attr(link, "rev").lower() == "footnote"
    ):
        return True
    fragment = _same_page_fragment(_attr(link, "href"), page_url)
    if fragment and fragment in ref_ids:
        return True
    return " ".join(link.get_text().split()) in _BACKREF_TEXT


def _note_item(target: Tag) -> Tag | None:
    """The element holding the text of the footnote ``target`` (the element a reference
    points at) or None when ``target`` is not a footnote."""
    el: Tag | None = target
    while el is not None and el.name not in _ITEM_TAGS:
        el = el.parent if isinstance(el.parent, Tag) else None
    if el is None or el.name in ("body", "[document]"):
        return None
    if el.name == "tr":
        table = el.find_parent("table")
        rows = [t for t in _tags(table) if t.name == "tr"] if table is not None else []
        el = table if table is not None and len(rows) == 1 else el
    if el.name == "dt":
        following = _next_meaningful(el)
        return following if isinstance(following, Tag) and following.name == "dd" else None
    if el.name in ("div", "section", "aside", "footer") and (
        sum(1 for t in _tags(el) if t.name in _ITEM_TAGS) > 4
    ):
        return None  # a whole notes section ("see the notes below"), not one note
    # It must sit in a footnote container (itself or an ancestor).
    node: Tag | None = el
    while node is not None and node.name not in ("body", "[document]"):
        if _notey(node):
            return el
        node = node.parent if isinstance(node.parent, Tag) else None
    return None


def _marked_ref(link: Tag) -> bool:
    """A link its generator marked as a footnote reference (role, class or rel)."""
    names = " ".join(_classes(link) + _classes(link.parent)).lower()
    return (
        _attr(link, "role").lower() in _REF_ROLES
        or _attr(link, "rel").lower() == "footnote"
        or any(word in names for word in ("footnote-ref", "footnote-reference", "footnoteref"))
    )


def _ref_wrapper(link: Tag) -> Tag:
    """The element a reference occupies: the link, or a <sup> holding only it."""
    parent = link.parent
    if (
        isinstance(parent, Tag)
        and parent.name == "sup"
        and all(child is link or not _meaningful(child) for child in parent.children)
    ):
        return parent
    return link


_LABELS = frozenset(["label", "fn-bracket", "footnote-label"])


def _note_body(item: Tag, soup: BeautifulSoup) -> Tag:
    """A detached <div> with the note's content, labels and back links removed."""
    body = soup.new_tag("div")
    if item.name == "table":
        cells = [c for c in _tags(item) if c.name == "td" and "label" not in _classes(c)]
        for cell in cells:
            for child in list(cell.contents):
                body.append(child.extract())
    else:
        for child in list(item.contents):
            body.append(child.extract())
    for label in _tags(body):
        classes = _classes(label)
        if any(name in _LABELS for name in classes) or " ".join(classes) in _LABELS:
            label.extract()
    return body


def _remove_empty_ancestors(el: Tag | None) -> None:
    while isinstance(el, Tag) and el.name not in ("body", "[document]", "html"):
        parent = el.parent
        if _has_content(el):
            return
        if _notey(el):
            # The rule and the "Notes" heading that introduced the notes go with them:
            # Markdown renderers set footnotes apart themselves.
            previous = _previous_meaningful(el)
            while isinstance(previous, Tag) and (
                previous.name == "hr"
                or (
                    previous.name in _HEADINGS
                    and _words(previous.get_text()).lower().rstrip(":") in _NOTES_TITLES
                )
            ):
                following = _previous_meaningful(previous)
                previous.extract()
                previous = following
        el.extract()
        el = parent if isinstance(parent, Tag) else None


def _extract_footnotes(soup: BeautifulSoup, page_url: str | None) -> list[Tag]:
    """Turn footnote references into ``<fnref n>`` placeholders and take the footnote
    bodies out of the tree; return the bodies in order of first reference."""
    tags = _tags(soup)
    candidates: list[tuple[Tag, str]] = []
    for link in tags:
        if link.name != "a" or "#" not in _attr(link, "href"):
            continue
        fragment = _same_page_fragment(_attr(link, "href"), page_url)
        if not fragment and _marked_ref(link):
            fragment = urldefrag(_attr(link, "href"))[1]
        if fragment:
            candidates.append((link, fragment))
    if not candidates:
        return []
    by_id: dict[str, Tag] = {}
    for el in tags:
        if el.get("id") is not None:
            by_id.setdefault(_attr(el, "id"), el)
    for el in tags:
        if el.name == "a" and el.get("name") is not None:
            by_id.setdefault(_attr(el, "name"), el)
    refs: list[tuple[Tag, Tag]] = []
    items: list[Tag] = []
    for link, fragment in candidates:
        target = by_id.get(fragment)
        if target is None or target is link:
            continue
        item = _note_item(target)
        if item is None or any(parent is item for parent in link.parents):
            continue
        if any(_notey(a) for a in link.parents if isinstance(a, Tag)) and not _marked_ref(link):
            continue  # a link inside the notes (a back link or a cross reference)
        if not _has_content(item):
            continue
        refs.append((link, item))
        if not any(known is item for known in items):
            items.append(item)
    if not refs:
        return []
    # Back links point at a reference, its <sup> or the element around it.
    ref_ids = set()
    for link, _ in refs:
        for holder in (link, link.parent, _ref_wrapper(link).parent):
            if isinstance(holder, Tag) and _attr(holder, "id"):
                ref_ids.add(_attr(holder, "id"))
    number = {id(item): n for n, item in enumerate(items)}
    for link, item in refs:
        wrapper = _ref_wrapper(link)
        marker = soup.new_tag("fnref", attrs={"n": str(number[id(item)])})
        wrapper.replace_with(marker)
    bodies = []
    for item in items:
        for link in [t for t in _tags(item) if t.name == "a" and t.get("href") is not None]:
            if _is_backref(link, page_url, ref_ids):
                for image in [t for t in _tags(link) if t.name == "img"]:
                    link.insert_before(image.extract())  # an arrow drawn as an image
                link.extract()
        parent = item.parent
        label = _previous_meaningful(item) if item.name == "dd" else None
        bodies.append(_note_body(item, soup))
        item.extract()
        if isinstance(label, Tag) and label.name == "dt":
            label.extract()
        _remove_empty_ancestors(parent if isinstance(parent, Tag) else None)
    return bodies


def _prepare(soup: BeautifulSoup, page_url: str | None) -> list[Tag]:
    headings: list[Tag] = []
    runs: list[Tag] = []
    lists: list[Tag] = []
    for tag in _tags(soup):
        name = tag.name
        if name in _HEADINGS:
            headings.append(tag)
        elif name in _MERGED:
            runs.append(tag)
        elif name in ("ul", "ol"):
            lists.append(tag)
    _repair_headings(headings)
    _merge_adjacent(runs)
    _repair_lists(soup, lists)  # may add a level per list: flatten afterwards
    _push_markup_into_blocks(soup)
    _flatten_deep(soup)
    return _extract_footnotes(soup, page_url)


# --------------------------------------------------------------------------- converter

#: Blocks whose blank text at their inner edges is dropped (markdownify's rule; headings
#: too), and, with <pre>, the elements blank text next to is dropped.
_TRIM_INSIDE = frozenset(
    [
        "p",
        "blockquote",
        "article",
        "div",
        "section",
        "ol",
        "ul",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
    ]
)


def _trims_outside(node: Any) -> bool:
    if not isinstance(node, Tag):
        return False
    name = node.name
    return name in _TRIM_INSIDE or name == "pre" or (name[:1] == "h" and name[1:2].isdigit())


# markdownify's stub declares only a few of its methods: subclass it untyped.
_MarkdownConverterBase: Any = MarkdownConverter


class _Converter(_MarkdownConverterBase):
    """markdownify with feedconv's rules: one ``convert_<tag>`` method per rule."""

    class Options:
        """Every markdownify option feedconv relies on, in one place."""

        autolinks = True
        bullets = "-"
        code_language = ""
        default_title = False
        escape_asterisks = True
        escape_underscores = True
        escape_misc = False
        heading_style = ATX
        newline_style = BACKSLASH
        strip_document = STRIP
        strong_em_symbol = "*"
        sub_symbol = "<sub>"
        sup_symbol = "<sup>"
        table_infer_header = False
        wrap = False
        heading_offset = 0
        flavor = "gfm"
        images: Mapping[str, str] = {}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._flavor: str = self.options["flavor"]
        self._abbrs: set[str] = set()

    # -- dispatch ----------------------------------------------------------------------

    def process_tag(self, node: Tag, parent_tags: set[str] | None = None) -> str:
        """markdownify's ``process_tag`` with the same rules, without its per-element
        search for an enclosing <pre> (the text of <pre>, <math> and tables is read
        from the tree by their own rules, so their content never comes here)."""
        parent_tags = parent_tags if parent_tags is not None else set()
        name = node.name
        if name == "table":
            return self._table(node, parent_tags)
        if name == "pre":
            return self.convert_pre(node, "", parent_tags)
        if name == "math":
            return self.convert_math(node, "", parent_tags)
        heading = name[:1] == "h" and name[1:2].isdigit()
        remove_inside = heading or name in _TRIM_INSIDE
        child_tags = set(parent_tags)
        child_tags.add(name)
        if heading or name in ("td", "th"):
            child_tags.add("_inline")
        if name in ("code", "kbd", "samp"):
            child_tags.add("_noformat")
        parts = [""]
        for child in node.contents:
            if isinstance(child, Tag):
                text = self.process_tag(child, child_tags)
            elif isinstance(child, NavigableString):
                if isinstance(child, (Comment, Doctype)):
                    continue
                if not child.strip():
                    before, after = child.previous_sibling, child.next_sibling
                    if remove_inside and (not before or not after):
                        continue  # blank text at the inner edge of a block
                    if _trims_outside(before) or _trims_outside(after):
                        continue  # blank text next to a block
                text = self.process_text(child, child_tags)
            else:  # pragma: no cover - a tree holds nothing else
                continue
            if not text:
                continue
            # At most two newlines where one child's trailing newlines meet the next
            # child's leading ones.
            body = text.lstrip("\n")
            leading = text[: len(text) - len(body)]
            content = body.rstrip("\n")
            trailing = body[len(content) :]
            if parts[-1] and leading:
                leading = "\n" * min(2, max(len(parts.pop()), len(leading)))
            parts += (leading, content, trailing)
        text = "".join(parts)
        convert_fn = self.get_conv_fn_cached(name)
        if convert_fn is not None:
            text = convert_fn(node, text, parent_tags=parent_tags)
        return str(text)

    def blocks(self, el: Tag, parent_tags: set[str] | None = None) -> str:
        """``el``'s content rendered as blocks, whatever ``el`` is."""
        name = el.name
        el.name = "div"
        try:
            return self.process_tag(el, (parent_tags or set()) - {"_inline"}).strip("\n")
        finally:
            el.name = name

    # -- text --------------------------------------------------------------------------

    def process_text(self, el: NavigableString, parent_tags: set[str] | None = None) -> str:
        parent_tags = parent_tags if parent_tags is not None else set()
        text = _WHITESPACE.sub(" ", str(el))
        if "_noformat" not in parent_tags:
            line_start = "_inline" not in parent_tags and _starts_line(el)
            text = self.escape_text(text, parent_tags, line_start=line_start)
        previous, following = el.previous_sibling, el.next_sibling
        if _breaks_before(previous, el.parent):
            text = text.lstrip(" ")
        if _breaks_before(following, el.parent):
            text = text.rstrip(" ")
        return text

    def escape_text(self, text: str, parent_tags: set[str], *, line_start: bool) -> str:
        if not text:
            return ""
        if _MAY_ESCAPE.search(text) is not None:
            text = self._escape_inline(text, parent_tags)
        if line_start:
            match = _LINE_START.match(text)
            if match:
                if match.group(2):
                    at = match.start(2)
                    text = text[:at] + "\\" + text[at:]
                else:
                    at = match.start(4)
                    text = text[:at] + "\\" + text[at:]
        return text

    def _escape_inline(self, text: str, parent_tags: set[str]) -> str:
        text = _ESCAPE_ALWAYS.sub(r"\\\1", text)
        if "a" in parent_tags:
            text = text.replace("]", "\\]")
        if self._flavor != "commonmark":
            text = text.replace("~", "\\~")
        if self._flavor == "obsidian":
            text = text.replace("$", "\\$").replace("==", "\\=\\=")
            text = _ESCAPE_TAG.sub(r"\\#", text)
        text = _ESCAPE_UNDERSCORE.sub(r"\\_", text)
        text = _ESCAPE_LT.sub(r"\\<", text)
        text = _ESCAPE_ENTITY.sub(r"\\&", text)
        if "_cell" in parent_tags:
            text = text.replace("|", "\\|")
        return text

    # For markdownify's own callers.
    def escape(self, text: str, parent_tags: set[str]) -> str:
        return self.escape_text(text, parent_tags, line_start=False)

    # -- blocks ------------------------------------------------------------------------

    def _alert(self, el: Tag) -> str | None:
        """The GitHub alert / Obsidian callout type of an admonition, or None."""
        for name in _classes(el):
            alert = _ALERTS.get(name.lower())
            if alert:
                return alert
        return None

    def _is_admonition(self, el: Tag) -> bool:
        return el.name == "aside" or any(
            name.lower() in _ADMONITION_CLASSES for name in _classes(el)
        )

    def convert_div(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_inline" in parent_tags:
            return f" {text.strip()} " if text.strip() else ""
        if self._is_admonition(el) and "_cell" not in parent_tags:
            return self._admonition(el, text)
        text = text.strip("\n")
        return f"\n\n{text}\n\n" if text else ""

    convert_section = convert_div
    convert_article = convert_div
    convert_header = convert_div
    convert_footer = convert_div
    convert_details = convert_div
    convert_aside = convert_div
    convert_dd = convert_div
    convert_figure = convert_div
    convert_picture = convert_div

    def _admonition(self, el: Tag, text: str) -> str:
        text = text.strip("\n")
        if not text:
            return ""
        alert = self._alert(el)
        if alert is None or self._flavor == "commonmark":
            return "\n\n" + _quote(text) + "\n\n"
        title = next((t for t in _tags(el) if "admonition-title" in _classes(t)), None)
        head = f"[!{alert}]" if self._flavor == "gfm" else f"[!{alert.lower()}]"
        if isinstance(title, Tag):
            # The alert shows its type: a title that only repeats it is dropped.
            words = " ".join(title.get_text().split())
            rendered = f"**{self.escape_text(words, set(), line_start=False)}**"
            if words.lower() == alert.lower():
                text = text.replace(rendered, "", 1).strip("\n")
        return "\n\n" + _quote(text, head) + "\n\n"

    def convert_blockquote(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = text.strip("\n")
        if "_inline" in parent_tags:
            return f" {text} " if text else ""
        if not text:
            return ""
        return "\n\n" + _quote(text) + "\n\n"

    def convert_p(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = text.strip("\n").strip(" ")
        if "_inline" in parent_tags:
            return f" {text} " if text else ""
        if not text:
            return ""
        if "admonition-title" in _classes(el):
            return f"\n\n**{text}**\n\n"
        return f"\n\n{text}\n\n"

    def convert_summary(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if "_inline" in parent_tags:
            return f" {text} "
        return f"\n\n**{text}**\n\n" if text else ""

    convert_dt = convert_summary

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if "_inline" in parent_tags:
            return f" {text} " if text else ""
        if not text:
            return ""
        stripped = text.rstrip("#")
        if stripped != text and (not stripped or stripped.endswith(" ")):
            # A trailing run of "#" after a space would be read as a closing sequence.
            text = stripped + "\\#" * (len(text) - len(stripped))
        level = n + self.options["heading_offset"]
        return "\n\n{} {}\n\n".format("#" * max(1, min(6, level)), text)

    def _fenced(self, code: str, language: str) -> str:
        fence = _fence_for(code)
        return f"\n\n{fence}{language}\n{code}\n{fence}\n\n"

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        code = _pre_text(el)
        if not code:
            return ""
        if "_inline" in parent_tags:
            return self._code_span(" ".join(code.split()), parent_tags)
        return self._fenced(code, _code_language(el))

    def convert_list(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = text.strip("\n")
        if not text:
            return ""
        if "_inline" in parent_tags:
            return " " + " ".join(text.split()) + " "
        if "li" in parent_tags:
            return "\n" + text + "\n"
        return "\n\n" + text + "\n\n"

    convert_ul = convert_list
    convert_ol = convert_list

    @staticmethod
    def _alternate(lst: Tag) -> bool:
        """Two lists in a row would merge into one: every other one changes its marker."""
        count = 0
        previous = _previous_meaningful(lst)
        while isinstance(previous, Tag) and previous.name == lst.name:
            count += 1
            previous = _previous_meaningful(previous)
        return count % 2 == 1

    def convert_li(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = text.strip("\n").strip(" ")
        parent = el.parent
        if "_inline" in parent_tags:
            return f" {text} " if text else ""
        alternate = isinstance(parent, Tag) and self._alternate(parent)
        if isinstance(parent, Tag) and parent.name == "ol":
            start_attr = _attr(parent, "start").strip()
            start = int(start_attr) if start_attr.lstrip("-").isdigit() else 1
            index = sum(1 for s in el.previous_siblings if isinstance(s, Tag) and s.name == "li")
            bullet = f"{max(0, min(999_999_999, start + index))}{')' if alternate else '.'}"
        else:
            bullet = "*" if alternate else "-"
        if not text:
            return bullet + "\n"
        return _indent(text, bullet + " ", " " * (len(bullet) + 1)) + "\n"

    def convert_figcaption(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if not text:
            return ""
        if "_inline" in parent_tags:
            return f" {text} "
        if _find(el, ("em", "i", "cite", "dfn", "var")) is not None:
            return f"\n\n_{text}_\n\n"  # "_" keeps the caption's own *emphasis* nested
        return f"\n\n*{text}*\n\n"

    def convert_hr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return " " if "_inline" in parent_tags else "\n\n---\n\n"

    # -- tables ------------------------------------------------------------------------

    @staticmethod
    def _rows(table: Tag) -> list[Tag]:
        """The rows of ``table`` itself (not those of tables in its cells)."""
        rows: list[Tag] = []
        stack = [c for c in reversed(table.contents) if isinstance(c, Tag)]
        while stack:
            node = stack.pop()
            if node.name == "tr":
                rows.append(node)
            elif node.name != "table":
                stack.extend(c for c in reversed(node.contents) if isinstance(c, Tag))
        return rows

    @staticmethod
    def _cells(row: Tag) -> list[Tag]:
        return [c for c in row.contents if isinstance(c, Tag) and c.name in ("td", "th")]

    @staticmethod
    def _span(cell: Tag, name: str) -> int:
        value = _attr(cell, name).strip()
        return max(1, min(100, int(value))) if value.isdigit() else 1

    def _code_table(self, table: Tag, parent_tags: set[str]) -> str | None:
        """A code block laid out as a table with a line-number column: the code only."""
        inside = _tags(table)
        pres = [p for p in inside if p.name == "pre" and not any(map(_is_gutter, p.parents))]
        if not pres:
            return None
        names = {name.lower() for name in _classes(table)}
        gutter = any(map(_is_gutter, inside))
        if not (names & _CODE_TABLES or gutter):
            cells = [c for r in self._rows(table) for c in self._cells(r)]
            numbers = []
            for cell in cells:
                words = cell.get_text().split()
                if words and all(word.isdigit() for word in words):
                    numbers.append(cell)
            if not (len(cells) == 2 and numbers and len(pres) == 1):
                return None
            pres = [p for p in pres if not any(a is n for a in p.parents for n in numbers)]
        parts = [self.convert_pre(p, "", parent_tags - {"_inline"}) for p in pres]
        return "".join(parts)

    def _grid(self, table: Tag) -> list[list[Tag | None]]:
        """The table's cells on a grid: spanned positions hold None."""
        grid: list[list[Tag | None]] = []
        pending: dict[int, int] = {}  # column → rows still covered by a rowspan
        for row in self._rows(table):
            line: list[Tag | None] = []
            for cell in [*self._cells(row), None]:
                while pending.get(len(line), 0) > 0:
                    pending[len(line)] -= 1
                    line.append(None)
                if cell is None:
                    break
                rows_down = self._span(cell, "rowspan")
                for offset in range(self._span(cell, "colspan")):
                    if rows_down > 1:
                        pending[len(line)] = rows_down - 1
                    line.append(cell if offset == 0 else None)
            grid.append(line)
        return grid

    def _table(self, el: Tag, parent_tags: set[str]) -> str:
        code = self._code_table(el, parent_tags)
        if code is not None:
            return code
        if "_inline" in parent_tags:
            return " " + self.escape(" ".join(el.get_text().split()), parent_tags) + " "
        caption_el = _child(el, "caption")
        caption = ""
        if isinstance(caption_el, Tag):
            caption = " ".join(self.blocks(caption_el, parent_tags).split())
        grid = self._grid(el)
        width = max((len(line) for line in grid), default=0)
        cells = [c for line in grid for c in line if c is not None]
        flatten = width <= 1 or any(_find(c, _COMPLEX_CELL) is not None for c in cells)
        if flatten or "_cell" in parent_tags:
            parts = [caption] if caption else []
            for cell in cells:
                rendered = self.blocks(cell, parent_tags)
                if rendered:
                    parts.append(rendered)
            return "\n\n" + "\n\n".join(parts) + "\n\n" if parts else ""
        rendered_rows = []
        for line in grid:
            row = []
            for slot in line + [None] * (width - len(line)):
                row.append(self._cell(slot, parent_tags) if slot is not None else "")
            rendered_rows.append(row)
        first = self._rows(el)[0]
        head_cells = self._cells(first)
        has_head = bool(head_cells) and (
            all(c.name == "th" for c in head_cells)
            or (isinstance(first.parent, Tag) and first.parent.name == "thead")
        )
        aligns = []
        source = grid[0] if grid else []
        for column in range(width):
            head = source[column] if column < len(source) else None
            align = _attr(head, "align").lower() if head is not None else ""
            aligns.append({"left": ":---", "center": ":---:", "right": "---:"}.get(align, "---"))
        lines = []
        if has_head:
            lines.append(self._row(rendered_rows[0]))
            body = rendered_rows[1:]
        else:
            lines.append(self._row([""] * width))
            body = rendered_rows
        lines.append("| " + " | ".join(aligns) + " |")
        lines.extend(self._row(row) for row in body)
        above = f"{caption}\n\n" if caption else ""
        return "\n\n" + above + "\n".join(lines) + "\n\n"

    @staticmethod
    def _row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |" if any(cells) else "|" + "  |" * len(cells)

    def _cell(self, cell: Tag, parent_tags: set[str]) -> str:
        """One cell on one line: paragraphs, list items and line breaks become <br>."""
        rendered = self.blocks(cell, parent_tags | {"_cell"})
        paragraphs = [p for p in rendered.split("\n\n") if p.strip()]
        joined = "<br><br>".join(
            "<br>".join(
                line.strip().removesuffix("\\").rstrip() for line in p.split("\n") if line.strip()
            )
            for p in paragraphs
        )
        return joined

    def convert_caption(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return ""  # written by _table

    # -- inline ------------------------------------------------------------------------

    def convert_br(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_inline" in parent_tags:
            return " "
        previous = _previous_meaningful(el)
        if isinstance(previous, Tag) and previous.name == "br":
            return ""  # the first <br> of the pair made the paragraph break
        if _at_block_edge(el, forward=True) or _at_block_edge(el, forward=False):
            return ""  # a hard break at the edge of a block would show as "\"
        following = _next_meaningful(el)
        if isinstance(following, Tag) and following.name == "br" and _is_block(el.parent):
            return "\n\n"
        return "\\\n"

    def _code_span(self, text: str, parent_tags: set[str]) -> str:
        text = text.replace("\n", " ")
        if not text.strip():
            return ""
        if "_cell" in parent_tags:
            text = text.replace("|", "\\|")
        longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
        delimiter = "`" * (longest + 1)
        if longest or text.startswith(("`", " ")) or text.endswith(("`", " ")):
            text = f" {text} "
        return f"{delimiter}{text}{delimiter}"

    def convert_code(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        if "_inline" not in parent_tags and _find(el, ("br",)) is not None:
            # Multi-line code written with <br>: a code block.
            code = _pre_text(el)
            if "\n" in code:
                if "_cell" in parent_tags:
                    return "<br>".join(
                        self._code_span(line, parent_tags)
                        for line in code.split("\n")
                        if line.strip()
                    )
                return self._fenced(code, _code_language(el))
        return self._code_span(" ".join(el.get_text().split()), parent_tags)

    convert_kbd = convert_code
    convert_samp = convert_code
    convert_tt = convert_code

    def _emphasis(self, el: Tag, text: str, parent_tags: set[str], marker: str, tag: str) -> str:
        if "_noformat" in parent_tags or not parent_tags.isdisjoint(_SAME_MARK[tag]):
            return text  # emphasis inside emphasis of its kind adds nothing
        prefix, suffix, text = _chomp_inline(el, text)
        if not text:
            return prefix or suffix
        # A closing "**" after punctuation and before a letter does not close (and the
        # mirror case for opening): fall back to the HTML element there.
        after = el.next_sibling
        before = el.previous_sibling
        next_char = str(after)[:1] if isinstance(after, NavigableString) else ""
        prev_char = str(before)[-1:] if isinstance(before, NavigableString) else ""
        if (not suffix and text[-1] in _PUNCTUATION and next_char.isalnum()) or (
            not prefix and text[0] in _PUNCTUATION and prev_char.isalnum()
        ):
            return f"{prefix}<{tag}>{text}</{tag}>{suffix}"
        return f"{prefix}{marker}{text}{marker}{suffix}"

    def convert_em(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._emphasis(el, text, parent_tags, "*", "em")

    convert_i = convert_em
    convert_cite = convert_em
    convert_dfn = convert_em
    convert_var = convert_em

    def convert_strong(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._emphasis(el, text, parent_tags, "**", "strong")

    convert_b = convert_strong

    def convert_del(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if self._flavor == "commonmark":
            return self._html_inline(el, "del", text, parent_tags)
        return self._emphasis(el, text, parent_tags, "~~", "del")

    convert_s = convert_del

    def convert_mark(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if self._flavor == "obsidian":
            return self._emphasis(el, text, parent_tags, "==", "mark")
        return self._html_inline(el, "mark", text, parent_tags)

    def convert_abbr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        title = " ".join(_attr(el, "title").split())
        key = " ".join(text.split())
        if not title or not key or title.lower() == key.lower() or key in self._abbrs:
            return text
        self._abbrs.add(key)
        prefix, suffix, text = _chomp_inline(el, text)
        escaped = self.escape_text(title, parent_tags, line_start=False)
        return f"{prefix}{text} ({escaped}){suffix}"

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = _chomp_inline(el, text)
        if not text:
            return prefix or suffix
        href = _attr(el, "href").strip()
        if not href:
            return f"{prefix}{text}{suffix}"
        title = _attr(el, "title")
        plain = text.replace("\\", "")
        if (
            plain == href
            and not title
            and href.startswith(("http://", "https://", "mailto:"))
            and not any(ch in href for ch in " <>")
        ):
            return f"{prefix}<{href}>{suffix}"
        return f"{prefix}[{text}]({_destination(href)}{_title_part(title)}){suffix}"

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        src = _image_source(el)
        if not src:
            return ""
        alt = " ".join(_attr(el, "alt").split())
        local = self.options["images"].get(src)
        if local and self._flavor == "obsidian":
            label = alt.replace("|", " ").replace("]", " ").strip()
            label = "" if not label or label.isdigit() else "|" + label
            return f"![[{local}{label}]]"
        alt = _ESCAPE_ALWAYS.sub(r"\\\1", alt).replace("]", "\\]")
        if "_cell" in parent_tags:
            alt = alt.replace("|", "\\|")
        return f"![{alt}]({_destination(local or src)}{_title_part(_attr(el, 'title'))})"

    def _media(self, el: Tag, label: str) -> str:
        src = _attr(el, "src").strip()
        if not src:
            source = el.find("source", src=True)
            src = _attr(source, "src").strip() if source is not None else ""
        poster = _attr(el, "poster").strip()
        if src and poster:
            return f"[![{label}]({_destination(poster)})]({_destination(src)})"
        if src:
            return f"[{label}]({_destination(src)})"
        if poster:
            return f"![{label}]({_destination(poster)})"
        return ""

    def convert_video(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._media(el, "Video")

    def convert_audio(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._media(el, "Audio")

    def convert_source(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return ""

    convert_track = convert_source

    def convert_sub(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._html_inline(el, "sub", text, parent_tags)

    def convert_sup(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._html_inline(el, "sup", text, parent_tags)

    @staticmethod
    def _html_inline(el: Tag, tag: str, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = _chomp_inline(el, text)
        if not text:
            return prefix or suffix
        return f"{prefix}<{tag}>{text}</{tag}>{suffix}"

    def convert_q(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "“" + text + "”"

    def convert_rt(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        previous = el.previous_sibling
        if isinstance(previous, Tag) and previous.name == "rp":
            return text
        return f"({text})" if text else ""

    def convert_fnref(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return f"[^{NOTE_SLOT}{_attr(el, 'n')}{NOTE_SLOT}]"

    def convert_math(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        block = _attr(el, "display") == "block" and "_inline" not in parent_tags
        annotation = el.find("annotation", encoding="application/x-tex")
        if annotation is not None and annotation.get_text().strip():
            tex = " ".join(annotation.get_text().split())
            return f"\n\n$$\n{tex}\n$$\n\n" if block else f"${tex}$"
        markup = _inline_html(el)
        return f"\n\n{markup}\n\n" if block else markup

    # -- footnote bodies ---------------------------------------------------------------

    def footnote(self, index: int, body: Tag) -> str:
        text = _normalize(self.blocks(body)).strip("\n")
        return _indent(text, f"[^{NOTE_SLOT}{index}{NOTE_SLOT}]: ", "    ")


def _inline_html(el: Tag) -> str:
    """Serialize ``el`` on one line as inline HTML whose text Markdown leaves alone."""
    parts: list[str] = []
    stack: list[Any] = [el]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            parts.append(node)  # a closing tag pushed below
        elif isinstance(node, Tag):
            attrs = "".join(
                f' {name}="{html_lib.escape(_attr(node, name))}"' for name in node.attrs
            )
            parts.append(f"<{node.name}{attrs}>")
            stack.append(f"</{node.name}>")
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, Comment):
            text = " ".join(str(node).split())
            parts.append(_ESCAPE_ALWAYS.sub(r"\\\1", html_lib.escape(text, quote=False)))
    return "".join(parts)


def _normalize(markdown: str) -> str:
    """No trailing blanks, at most one blank line between blocks (not inside code
    fences), exactly one final newline."""
    lines: list[str] = []
    fence = ""
    for raw in markdown.split("\n"):
        line = raw.rstrip()
        marker = line.lstrip(" >")
        if fence:
            if marker.startswith(fence) and not marker.strip("`"):
                fence = ""
        elif marker.startswith("```"):
            fence = marker[: len(marker) - len(marker.lstrip("`"))]
        elif not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


#: Strings that are only ASCII whitespace (BeautifulSoup keeps such a string as one
#: space or newline outside <pre>).
_ASCII_SPACE_CHARS = "\x20\x0a\x09\x0c\x0d"


def _parse(html: str) -> BeautifulSoup:
    """The BeautifulSoup tree of a fragment, built directly from lxml's parse (the one
    HTML parser, in :mod:`feedconv.htmlclean`): the same tree BeautifulSoup's own lxml
    builder makes (``[document] > html > body > …``), at a fraction of its cost."""
    return _soup_of(parse_fragment(html))


def _soup_of(body: etree._Element | None) -> BeautifulSoup:
    """The BeautifulSoup tree of the fragment parsed into ``body`` (see :func:`_parse`)."""
    soup = BeautifulSoup("", "lxml")
    if body is None:  # pragma: no cover - the parser recovers from anything
        return soup
    builder = soup.builder
    containers = builder.string_containers
    keep_space = builder.preserve_whitespace_tags
    html_tag = Tag(soup, builder, "html", None, None, None, soup, soup)
    soup.contents.append(html_tag)
    last: Any = html_tag
    parents: list[Tag] = [html_tag]
    string_types: list[type[NavigableString]] = []
    preserving = 0

    def add_text(text: str, parent: Tag) -> None:
        nonlocal last
        if not preserving and not text.strip(_ASCII_SPACE_CHARS):
            text = "\n" if "\n" in text else " "
        string = (string_types[-1] if string_types else NavigableString)(text)
        string.setup(parent, last)
        parent.contents.append(string)
        last = string

    for event, el in etree.iterwalk(body, events=("start", "end")):
        name = el.tag
        if not isinstance(name, str):  # pragma: no cover - comments are dropped
            continue
        if event == "start":
            parent = parents[-1]
            attrs = el.items()
            # No attributes: None spares BeautifulSoup its multi-valued attribute pass.
            tag = Tag(soup, builder, name, None, None, dict(attrs) if attrs else None, parent, last)
            parent.contents.append(tag)
            last = tag
            parents.append(tag)
            if name in containers:
                string_types.append(containers[name])
            if name in keep_space:
                preserving += 1
            if el.text:
                add_text(el.text, tag)
        else:
            parents.pop()
            if name in containers:
                string_types.pop()
            if name in keep_space:
                preserving -= 1
            if el.tail and parents:
                add_text(el.tail, parents[-1])
    return soup


def convert(html: str, options: MarkdownOptions | None = None) -> Conversion:
    """Convert a cleaned HTML fragment to Markdown; also say how many footnotes it wrote."""
    options = options or MarkdownOptions()
    if options.flavor not in FLAVORS:
        raise ValueError(f"unknown Markdown flavor {options.flavor!r}")
    if not html or html.isspace():
        return Conversion("", 0)
    soup = _parse(html)
    notes = _prepare(soup, options.page_url)
    offset = 0
    if options.top_heading is not None:
        levels = [int(tag.name[1]) for tag in _tags(soup) if tag.name in _HEADINGS]
        if levels and min(levels) < options.top_heading:
            offset = options.top_heading - min(levels)
    converter = _Converter(
        heading_offset=offset,
        flavor=options.flavor,
        images=options.images,
    )
    body = _normalize(converter.convert_soup(soup))
    if notes:
        definitions = [converter.footnote(n, note) for n, note in enumerate(notes)]
        body = _normalize(body + "\n\n" + "\n\n".join(definitions))
    if options.footnote_start is not None:
        body = number_footnotes(body, options.footnote_start)
    return Conversion(body, len(notes))


def html_to_markdown(
    html: str,
    *,
    top_heading: int | None = None,
    flavor: str = "gfm",
    page_url: str | None = None,
) -> str:
    """Convert a cleaned HTML fragment to Markdown ("" for an empty fragment).

    ``top_heading`` is the shallowest heading level the fragment may use: when its
    highest heading is above it, all its headings shift down by the difference.
    """
    options = MarkdownOptions(flavor=flavor, top_heading=top_heading, page_url=page_url)
    return convert(html, options).markdown


def split_footnotes(html: str, page_url: str | None) -> tuple[etree._Element | None, list[str]]:
    """The footnotes of a cleaned fragment, recognised as :func:`convert` recognises
    them: (the fragment's ``<body>`` as an lxml tree, each reference replaced by
    ``<fnref n="i">``, i from 0; and the notes' HTML in order). Without footnotes,
    ``(None, [])``: the fragment is unchanged."""
    if "#" not in html:  # every footnote reference links to a fragment
        return None, []
    body = parse_fragment(html)
    if body is None or not _may_have_notes(body):
        return None, []
    soup = _soup_of(body)
    bodies = _extract_footnotes(soup, page_url)
    if not bodies or soup.body is None:
        return None, []
    notes = [body.decode_contents() for body in bodies]
    try:
        return _tree_of(soup.body), notes
    except ValueError:  # a name lxml's API refuses (the parser accepts more): parse it
        return parse_fragment(soup.body.decode_contents()), notes


def _tree_of(tag: Tag) -> etree._Element:
    """The lxml tree of a BeautifulSoup element: the tree lxml's HTML parser gives for
    ``tag.decode()`` (the reverse of :func:`_soup_of`), built without serializing."""
    root = etree.Element(tag.name, _lxml_attributes(tag))
    stack: list[tuple[etree._Element, Iterator[Any]]] = [(root, iter(tag.contents))]
    while stack:
        element, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        if isinstance(child, Tag):
            sub = etree.SubElement(element, child.name, _lxml_attributes(child))
            stack.append((sub, iter(child.contents)))
        elif isinstance(child, NavigableString) and not isinstance(child, Comment | Doctype):
            if len(element):
                last = element[-1]
                last.tail = (last.tail or "") + str(child)
            else:
                element.text = (element.text or "") + str(child)
    return root


def _lxml_attributes(tag: Tag) -> dict[str, str]:
    return {
        name: " ".join(value) if isinstance(value, list) else str(value)
        for name, value in tag.attrs.items()
    }


def _may_have_notes(body: etree._Element) -> bool:
    """Whether a link of the fragment points at an element of it: no footnote can be
    recognised otherwise (a cheap test in lxml before BeautifulSoup's tree is built)."""
    fragments: set[str] = set()
    for href in body.xpath("//a/@href"):
        if "#" in href:
            fragment = href.split("#", 1)[1]
            fragments.update((fragment, fragment.strip()))
    fragments.discard("")
    return bool(fragments) and any(
        value in fragments or value.strip() in fragments
        for value in body.xpath("//@id | //a/@name")
    )


def image_sources(html: str) -> Iterator[str]:
    """The http(s) URLs of the images the Markdown of ``html`` shows, in order, once each."""
    if not html or "<img" not in html:
        return
    seen: set[str] = set()
    for img in (tag for tag in _tags(_parse(html)) if tag.name == "img"):
        src = _image_source(img)
        if src.startswith(("http://", "https://")) and src not in seen:
            seen.add(src)
            yield src
