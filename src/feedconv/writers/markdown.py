"""The feed model as Markdown: one document, or one file per post with front matter."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from feedconv.markdown import html_to_markdown
from feedconv.model import Entry, Feed
from feedconv.writers._files import slugify, unique_names

_INLINE_SPECIALS = frozenset("\\`*_[]<>#|~!")


def escape_inline(text: str) -> str:
    """Escape text so that Markdown shows it literally on one line."""
    out = "".join("\\" + ch if ch in _INLINE_SPECIALS else ch for ch in text)
    head = out.lstrip()
    if head[:1] in ("+", "-", "=") or (head[:1].isdigit() and _numbered(head)):
        # A leading "-", "+", "=" or "1." / "1)" would start a list or an underline.
        out = _escape_leading(out)
    return out


def _numbered(text: str) -> bool:
    digits = len(text) - len(text.lstrip("0123456789"))
    return text[digits : digits + 1] in (".", ")")


def _escape_leading(text: str) -> str:
    stripped = text.lstrip()
    indent = text[: len(text) - len(stripped)]
    if stripped[:1] in ("+", "-", "="):
        return f"{indent}\\{stripped}"
    digits = len(stripped) - len(stripped.lstrip("0123456789"))
    return f"{indent}{stripped[:digits]}\\{stripped[digits:]}"


def display_date(value: datetime) -> str:
    """A readable date that keeps the feed's offset: 2016-04-20 14:04 +01:00."""
    offset = value.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{value:%Y-%m-%d %H:%M} {offset}".strip()


def post_body(entry: Entry, top_heading: int | None = None) -> str:
    """The post body as Markdown (ends with a newline, or is empty). ``top_heading``
    moves the body's headings below a surrounding title."""
    if entry.content_html:
        return html_to_markdown(entry.content_html, top_heading=top_heading)
    text = entry.content_text or entry.summary
    if not text:
        return ""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    markup = "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
    return html_to_markdown(markup)


def byline(entry: Entry) -> str:
    parts = []
    if entry.date:
        parts.append(display_date(entry.date))
    names = [a.label() for a in entry.authors if a.label()]
    if names:
        parts.append("by " + ", ".join(escape_inline(n) for n in names if n))
    if entry.link:
        parts.append(f"[original]({_link_target(entry.link)})")
    line = " · ".join(parts)
    if entry.categories:
        tags = ", ".join(escape_inline(t) for t in entry.categories)
        line = f"{line}  \nTags: {tags}" if line else f"Tags: {tags}"
    return line


def render_section(entry: Entry, level: int = 2) -> str:
    """One post as a section of a larger document."""
    title = escape_inline(entry.title or "Untitled")
    parts = [f"{'#' * level} {title}\n"]
    meta = byline(entry)
    if meta:
        parts.append(f"\n{meta}\n")
    body = post_body(entry, top_heading=min(level + 1, 6))
    if body:
        parts.append(f"\n{body}")
    return "".join(parts)


def render_document(feed: Feed, entries: Iterable[Entry] | None = None) -> Iterator[str]:
    """The feed as one Markdown document, yielded post by post."""
    head = f"# {escape_inline(feed.title or 'Untitled feed')}\n"
    about = []
    if feed.description:
        about.append(escape_inline(feed.description))
    if feed.home_page_url:
        about.append(f"<{feed.home_page_url}>")
    if about:
        head += "\n" + "  \n".join(about) + "\n"
    yield head
    for entry in feed.entries if entries is None else entries:
        yield "\n" + render_section(entry)


def front_matter(entry: Entry) -> str:
    """YAML front matter with a fixed field set: title, date, updated, author, link, id,
    tags. Strings are double-quoted (JSON string syntax is valid YAML)."""
    lines = ["---"]

    def add(key: str, value: object) -> None:
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")

    add("title", entry.title or "Untitled")
    if entry.published or entry.updated:
        lines.append(f"date: {(entry.published or entry.updated).isoformat()}")  # type: ignore[union-attr]
    if entry.updated:
        lines.append(f"updated: {entry.updated.isoformat()}")
    names = [a.label() for a in entry.authors if a.label()]
    if len(names) == 1:
        add("author", names[0])
    elif names:
        add("author", names)
    if entry.link:
        add("link", entry.link)
    add("id", entry.id)
    if entry.categories:
        add("tags", list(entry.categories))
    lines.append("---")
    return "\n".join(lines) + "\n"


def render_post(entry: Entry) -> str:
    """One post as a stand-alone Markdown file: front matter, then the body."""
    body = post_body(entry)
    return front_matter(entry) + ("\n" + body if body else "")


def post_filenames(entries: Iterable[Entry]) -> list[str]:
    """``YYYY-MM-DD-slug.md`` per post (``undated-slug.md`` without a date), unique."""
    names = []
    for entry in entries:
        prefix = f"{entry.date:%Y-%m-%d}" if entry.date else "undated"
        slug = slugify(entry.title, fallback="post")
        names.append(f"{prefix}-{slug}.md")
    return unique_names(names)


def _link_target(url: str) -> str:
    if any(ch in url for ch in " ()<>"):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url
