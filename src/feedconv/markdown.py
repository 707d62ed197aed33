"""HTML → Markdown: the markdownify ``MarkdownConverter`` subclass feedconv uses.

Input is a fragment cleaned by :func:`feedconv.htmlclean.clean_fragment`; output is
CommonMark with GitHub extensions (pipe tables, ``~~strike~~``). One ``convert_<tag>``
method per rule; all markdownify options are set in ``_Converter.Options``. Markup that
Markdown cannot express stays as inline HTML only for ``<sub>``, ``<sup>`` and MathML
(unless it carries a TeX annotation, which becomes ``$...$``).
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from typing import Any

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from markdownify import ATX, BACKSLASH, STRIP, MarkdownConverter

__all__ = ["html_to_markdown"]

log = logging.getLogger(__name__)

#: Elements nested deeper than this are unwrapped before conversion (markdownify recurses).
MAX_DEPTH = 120

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
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "details",
        "summary",
        "body",
        "html",
        "[document]",
    ]
)

# Escaping of text (small regexes inside the escape rule).
_ESCAPE_ALWAYS = re.compile(r"([\\`*\[\]~])")
_ESCAPE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_ESCAPE_LT = re.compile(r"<(?=[A-Za-z/!?]|$)")
_ESCAPE_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
# At the start of a line: a quote marker, a heading, a bullet, a setext underline.
_ESCAPE_LINE_START = re.compile(
    r"(^|\n)([ \t]*)"
    r"(>|#(?=#{0,5}(?:[ \t]|$))|\+(?=[ \t])|-(?=[ \t]|$)|[=\-](?=[=\-]*[ \t]*(?:\n|$)))"
)
_ESCAPE_ORDERED = re.compile(r"(^|\n)([ \t]*[0-9]{1,9})([.)])(?=[ \t]|$)")

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
    ]
)
_LANG_CHARS = re.compile(r"[^0-9A-Za-z_+#.\-]")
_BRUSH = re.compile(r"brush:\s*([0-9A-Za-z_+#.\-]+)")
_LINE_NUMBER_CLASSES = frozenset({"ln", "lnt", "linenos", "lineno", "line-numbers", "gutter"})
_HIGHLIGHT_TABLES = frozenset({"highlighttable", "lntable"})

_LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original")
_ADMONITIONS = ("note", "tip", "hint", "important", "warning", "caution", "danger", "attention")


def _classes(el: Tag | None) -> list[str]:
    if el is None:
        return []
    value = el.get("class")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else str(value).split()


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


def _code_language(pre: Tag) -> str:
    """The language of a code block, from classes on <pre>, its <code> or wrappers."""
    code = pre.find("code", recursive=False)
    candidates: list[Tag | None] = [code, pre]
    parent = pre.parent
    for _ in range(2):
        if isinstance(parent, Tag) and parent.name == "div":
            candidates.append(parent)
            parent = parent.parent
        else:
            break
    for el in candidates:
        language = _language_of(_classes(el))
        if language:
            return _LANG_CHARS.sub("", language)
    return ""


def _pre_text(pre: Tag) -> str:
    """The verbatim text of a code block (<br> counts as a line break)."""
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
            elif _LINE_NUMBER_CLASSES.intersection(_classes(node)):
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
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _destination(url: str) -> str:
    """A link destination CommonMark reads back as ``url``."""
    url = url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
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


def _is_block_parent(el: Tag | None) -> bool:
    return el is None or el.name in _BLOCKS


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


def _at_block_edge(node: Tag, forward: bool) -> bool:
    """True when nothing but whitespace separates ``node`` from its block's edge."""
    current: Any = node
    while True:
        sibling = _next_meaningful(current) if forward else _previous_meaningful(current)
        if sibling is not None:
            return False
        parent = current.parent
        if _is_block_parent(parent):
            return True
        current = parent


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

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._tables: dict[int, tuple[int, Tag | None]] = {}

    # -- text --------------------------------------------------------------------------

    def escape(self, text: str, parent_tags: set[str]) -> str:
        if not text:
            return ""
        text = _ESCAPE_ALWAYS.sub(r"\\\1", text)
        text = _ESCAPE_UNDERSCORE.sub(r"\\_", text)
        text = _ESCAPE_LT.sub(r"\\<", text)
        text = _ESCAPE_ENTITY.sub(r"\\&", text)
        text = _ESCAPE_LINE_START.sub(r"\1\2\\\3", text)
        text = _ESCAPE_ORDERED.sub(r"\1\2\\\3", text)
        return text

    # -- blocks ------------------------------------------------------------------------

    def convert_div(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "admonition" in _classes(el) and "_inline" not in parent_tags:
            return self.convert_blockquote(el, text, parent_tags)
        return super().convert_div(el, text, parent_tags)

    convert_aside = convert_div
    convert_header = convert_div
    convert_footer = convert_div
    convert_details = convert_div
    convert_article = convert_div
    convert_section = convert_div

    def convert_p(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "admonition-title" in _classes(el) and "_inline" not in parent_tags:
            text = text.strip()
            return f"\n\n**{text}**\n\n" if text else ""
        return super().convert_p(el, text, parent_tags)

    def convert_summary(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if "_inline" in parent_tags:
            return f" {text} "
        return f"\n\n**{text}**\n\n" if text else ""

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if "_inline" in parent_tags:
            return text
        if not text:
            return ""
        stripped = text.rstrip("#")
        if stripped != text and (not stripped or stripped.endswith(" ")):
            # A trailing run of "#" after a space would be read as a closing sequence.
            text = stripped + "\\#" * (len(text) - len(stripped))
        level = n + self.options["heading_offset"]
        return "\n\n{} {}\n\n".format("#" * max(1, min(6, level)), text)

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        code = _pre_text(el)
        if not code:
            return ""
        if "_inline" in parent_tags:
            return self._code_span(" ".join(code.split()))
        fence = _fence_for(code)
        language = _code_language(el)
        return f"\n\n{fence}{language}\n{code}\n{fence}\n\n"

    def convert_dt(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if "_inline" in parent_tags:
            return f" {text} "
        return f"\n\n**{text}**\n\n" if text else ""

    def convert_dd(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self.convert_div(el, text, parent_tags)

    def convert_figure(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self.convert_div(el, text, parent_tags)

    def convert_figcaption(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        if not text:
            return ""
        if "_inline" in parent_tags:
            return f" {text} "
        return f"\n\n*{text}*\n\n"

    def convert_table(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if _HIGHLIGHT_TABLES.intersection(_classes(el)):
            # A code block with a line-number column: keep only the code.
            pres = el.find_all("pre")
            if pres:
                return self.process_tag(pres[-1], parent_tags=parent_tags)
        if "_inline" in parent_tags:
            return " " + " ".join(text.split()) + " "
        return "\n\n" + text.strip("\n") + "\n\n"

    def convert_caption(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split())
        return f"*{text}*\n\n" if text else ""

    def _table_info(self, table: Tag | None) -> tuple[int, Tag | None]:
        """(number of columns, first row) of a table, computed once per table."""
        if table is None:
            return 0, None
        key = id(table)
        if key not in self._tables:
            rows = [r for r in table.find_all("tr") if r.find_parent("table") is table]
            width = max((sum(self._colspan(c) for c in self._cells(r)) for r in rows), default=0)
            self._tables[key] = (width, rows[0] if rows else None)
        return self._tables[key]

    @staticmethod
    def _cells(row: Tag) -> list[Tag]:
        return [c for c in row.find_all(["td", "th"], recursive=False)]

    @staticmethod
    def _colspan(cell: Tag) -> int:
        value = _attr(cell, "colspan").strip()
        return max(1, min(100, int(value))) if value.isdigit() else 1

    def convert_td(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        text = " ".join(text.split()).replace("|", "\\|")
        return " " + text + " |" + " |" * (self._colspan(el) - 1)

    convert_th = convert_td

    def convert_tr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        width, first = self._table_info(el.find_parent("table"))
        cells = self._cells(el)
        missing = width - sum(self._colspan(c) for c in cells)
        row = "|" + text + "  |" * max(0, missing) + "\n"
        if el is not first:
            return row
        separator = "| " + " | ".join(["---"] * max(1, width)) + " |\n"
        is_head = bool(cells) and all(c.name == "th" for c in cells)
        if is_head or (el.parent is not None and el.parent.name == "thead"):
            return row + separator
        empty_head = "|" + "  |" * max(1, width) + "\n"
        return empty_head + separator + row

    def convert_hr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n---\n\n"

    # -- inline ------------------------------------------------------------------------

    def convert_br(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_inline" in parent_tags:
            return " "
        if "pre" in parent_tags:
            return "\n"
        previous = _previous_meaningful(el)
        if isinstance(previous, Tag) and previous.name == "br":
            return ""  # the first <br> of the pair made the paragraph break
        if _at_block_edge(el, forward=True) or _at_block_edge(el, forward=False):
            return ""  # a hard break at the edge of a block is rendered as "\"
        following = _next_meaningful(el)
        if isinstance(following, Tag) and following.name == "br" and _is_block_parent(el.parent):
            return "\n\n"
        return "\\\n"

    def _code_span(self, text: str) -> str:
        text = text.replace("\n", " ")
        if not text.strip():
            return ""
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        delimiter = "`" * (longest + 1)
        if longest or text.startswith(" ") or text.endswith(" "):
            text = f" {text} "
        return f"{delimiter}{text}{delimiter}"

    def convert_code(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        return self._code_span(" ".join(el.get_text().split()))

    convert_kbd = convert_code
    convert_samp = convert_code
    convert_tt = convert_code

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = _chomp(text)
        if not text:
            return ""
        href = _attr(el, "href").strip()
        if not href:
            return f"{prefix}{text}{suffix}"
        title = _attr(el, "title")
        plain = text.replace("\\", "")
        if (
            plain == href
            and not title
            and (href.startswith(("http://", "https://", "mailto:")))
            and " " not in href
        ):
            return f"{prefix}<{href}>{suffix}"
        return f"{prefix}[{text}]({_destination(href)}{_title_part(title)}){suffix}"

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        src = _image_source(el)
        if not src:
            return ""
        alt = " ".join(_attr(el, "alt").split())
        alt = _ESCAPE_ALWAYS.sub(r"\\\1", alt)
        return f"![{alt}]({_destination(src)}{_title_part(_attr(el, 'title'))})"

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
        return self._html_inline("sub", text, parent_tags)

    def convert_sup(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self._html_inline("sup", text, parent_tags)

    @staticmethod
    def _html_inline(tag: str, text: str, parent_tags: set[str]) -> str:
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = _chomp(text)
        if not text:
            return ""
        return f"{prefix}<{tag}>{text}</{tag}>{suffix}"

    def convert_cite(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return self.convert_em(el, text, parent_tags)

    convert_dfn = convert_cite
    convert_var = convert_cite

    def convert_q(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "“" + text + "”"

    def convert_rt(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        previous = el.previous_sibling
        if isinstance(previous, Tag) and previous.name == "rp":
            return text
        return f"({text})" if text else ""

    def convert_math(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        block = _attr(el, "display") == "block" and "_inline" not in parent_tags
        annotation = el.find("annotation", encoding="application/x-tex")
        if annotation is not None and annotation.get_text().strip():
            tex = " ".join(annotation.get_text().split())
            return f"\n\n$$\n{tex}\n$$\n\n" if block else f"${tex}$"
        markup = _inline_html(el)
        return f"\n\n{markup}\n\n" if block else markup


def _chomp(text: str) -> tuple[str, str, str]:
    prefix = " " if text[:1] in (" ", "\n") else ""
    suffix = " " if text[-1:] in (" ", "\n") else ""
    return prefix, suffix, text.strip()


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


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def html_to_markdown(html: str, *, top_heading: int | None = None) -> str:
    """Convert a cleaned HTML fragment to Markdown ("" for an empty fragment).

    ``top_heading`` shifts the fragment's headings so that its highest one lands at
    that level (e.g. 3 under a post title at level 2); deeper levels stop at 6.
    """
    if not html or html.isspace():
        return ""
    # The "<body>" start keeps BeautifulSoup from taking short text for a file name.
    # lxml's builder is the fastest; huge_tree lifts libxml2's depth limit of 256.
    soup = BeautifulSoup("<body>" + html, "lxml", huge_tree=True)
    _flatten_deep(soup)
    offset = 0
    if top_heading is not None:
        levels = [int(tag.name[1]) for tag in soup.find_all(_HEADINGS)]
        if levels:
            offset = top_heading - min(levels)
    converter = _Converter(heading_offset=offset)
    markdown: str = converter.convert_soup(soup)
    return _normalize(markdown)
