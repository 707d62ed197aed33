"""The feed model as Markdown: one document, or one file per post with front matter.

A document is the feed's title, then each post as a level-1 heading with a byline; the
posts' own headings keep their levels (a post's ``<h1>`` moves down to level 2), and
footnotes are numbered through the whole document so their labels never collide.

Per-post files carry front matter (YAML, TOML, JSON or none) with a fixed field set,
:data:`FRONT_MATTER_FIELDS`, and are named by a template (:func:`post_filenames`).
:func:`sync_files` writes them so that a second run into the same folder rewrites
nothing that did not change.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import posixpath
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedconv.errors import OutputError
from feedconv.markdown import FLAVORS, MarkdownOptions, convert, image_sources, number_footnotes
from feedconv.model import Entry, Feed
from feedconv.writers._files import atomic_write, check_writable, iter_unique_names, slugify

if TYPE_CHECKING:
    from feedconv.parallel import Mapper

__all__ = [
    "DEFAULT_FILENAME",
    "FLAVORS",
    "FRONT_MATTER_FIELDS",
    "FRONT_MATTER_FORMATS",
    "TEMPLATE_FIELDS",
    "PostOptions",
    "check_template",
    "front_matter",
    "post_body",
    "post_filenames",
    "render_document",
    "render_post",
    "split_files",
    "sync_files",
]

#: Front matter formats: YAML between ``---``, TOML between ``+++``, a JSON object, none.
FRONT_MATTER_FORMATS = ("yaml", "toml", "json", "none")
#: Every front matter field, in the order they are written.
FRONT_MATTER_FIELDS = (
    "title",
    "date",
    "updated",
    "author",
    "link",
    "id",
    "tags",
    "summary",
    "image",
)
#: The placeholders a file name template may use.
TEMPLATE_FIELDS = ("slug", "date", "year", "month", "day", "index")
DEFAULT_FILENAME = "{date:%Y-%m-%d}-{slug}.md"

_INLINE_SPECIALS = frozenset("\\`*_[]<>#|~!")


@dataclass(frozen=True)
class PostOptions:
    """How one post file is written."""

    front_matter: str = "yaml"
    fields: tuple[str, ...] = FRONT_MATTER_FIELDS
    flavor: str = "gfm"
    images: Mapping[str, str] = field(default_factory=dict)  # remote URL → relative path


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


def _body_html(entry: Entry) -> str:
    if entry.content_html:
        return entry.content_html
    text = entry.content_text or entry.summary
    if not text:
        return ""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def _convert(entry: Entry, options: MarkdownOptions) -> tuple[str, int]:
    result = convert(_body_html(entry), options)
    return result.markdown, result.footnotes


def post_body(
    entry: Entry,
    top_heading: int | None = None,
    *,
    flavor: str = "gfm",
    images: Mapping[str, str] | None = None,
) -> str:
    """The post body as Markdown (ends with a newline, or is empty). ``top_heading`` is
    the shallowest heading level the body may use."""
    options = MarkdownOptions(
        flavor=flavor, top_heading=top_heading, page_url=entry.link, images=images or {}
    )
    return _convert(entry, options)[0]


def byline(entry: Entry) -> str:
    """One compact line under a post's heading: date · by authors · in tags · link."""
    parts = []
    if entry.date:
        parts.append(display_date(entry.date))
    names = [a.label() for a in entry.authors if a.label()]
    if names:
        parts.append("by " + ", ".join(escape_inline(n) for n in names if n))
    if entry.categories:
        parts.append("in " + ", ".join(escape_inline(t) for t in entry.categories))
    if entry.link:
        parts.append(f"[original]({_link_target(entry.link)})")
    return " · ".join(parts)


def _section(entry: Entry, flavor: str) -> tuple[str, int]:
    """A post as a section, its footnote numbers left as slots (see
    :func:`~feedconv.markdown.number_footnotes`), and how many notes it has."""
    title = escape_inline(entry.title or "Untitled")
    parts = [f"# {title}\n"]
    meta = byline(entry)
    if meta:
        parts.append(f"\n{meta}\n")
    options = MarkdownOptions(
        flavor=flavor, top_heading=2, page_url=entry.link, footnote_start=None
    )
    body, notes = _convert(entry, options)
    if body:
        parts.append(f"\n{body}")
    return "".join(parts), notes


def render_section(entry: Entry, flavor: str = "gfm") -> str:
    """One post as a section of a larger document."""
    return number_footnotes(_section(entry, flavor)[0], 1)


def render_document(
    feed: Feed,
    entries: Iterable[Entry] | None = None,
    *,
    flavor: str = "gfm",
    mapper: Mapper | None = None,
) -> Iterator[str]:
    """The feed as one Markdown document, yielded post by post.

    ``mapper`` (e.g. :func:`feedconv.parallel.ordered_map` bound to a number of jobs)
    converts the sections, possibly in other processes. Footnote numbers continue
    across the document: sections come back with numbered slots, filled in here in
    order, so the bytes never depend on the mapper.
    """
    head = f"# {escape_inline(feed.title or 'Untitled feed')}\n"
    about = []
    if feed.description:
        about.append(escape_inline(feed.description))
    if feed.home_page_url:
        about.append(f"<{feed.home_page_url}>")
    if about:
        head += "\n" + "  \n".join(about) + "\n"
    yield head
    source = feed.entries if entries is None else entries
    convert = functools.partial(section_slots, flavor)
    converted = map(convert, source) if mapper is None else mapper(convert, source)
    footnote = 1
    for section, notes in converted:
        yield "\n" + number_footnotes(section, footnote)
        footnote += notes


def section_slots(flavor: str, entry: Entry) -> tuple[str, int]:
    """A post as a section with its footnote numbers as slots (picklable, for mappers)."""
    return _section(entry, flavor)


def post_file(options: PostOptions, entry: Entry) -> bytes:
    """A post as a stand-alone file's bytes (picklable, for mappers)."""
    return render_post(entry, options).encode("utf-8")


# --------------------------------------------------------------------------- front matter


def _field_values(entry: Entry) -> dict[str, Any]:
    """The front matter fields this post has (``None`` values are left out)."""
    names = [a.label() for a in entry.authors if a.label()]
    values: dict[str, Any] = {
        "title": entry.title or "Untitled",
        "date": entry.date,
        "updated": entry.updated,
        "author": names[0] if len(names) == 1 else (names or None),
        "link": entry.link,
        "id": entry.id,
        "tags": list(entry.categories) or None,
        "summary": " ".join(entry.summary.split()) if entry.summary else None,
        "image": entry.image,
    }
    return {key: value for key, value in values.items() if value is not None}


def _scalar(value: Any, fmt: str) -> str:
    if isinstance(value, datetime):
        # An offset date-time: a YAML timestamp and a TOML datetime as written.
        return json.dumps(value.isoformat()) if fmt == "json" else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v, fmt) for v in value) + "]"
    # JSON string syntax is valid YAML; TOML basic strings use the same escapes
    # except for the 8-digit \U form, which json.dumps never writes.
    return json.dumps(str(value), ensure_ascii=False)


def front_matter(
    entry: Entry, fmt: str = "yaml", fields: Sequence[str] = FRONT_MATTER_FIELDS
) -> str:
    """Front matter with the chosen fields, in the order of :data:`FRONT_MATTER_FIELDS`."""
    if fmt not in FRONT_MATTER_FORMATS:
        raise ValueError(f"unknown front matter format {fmt!r}")
    if fmt == "none":
        return ""
    values = _field_values(entry)
    chosen = [(key, values[key]) for key in FRONT_MATTER_FIELDS if key in fields and key in values]
    if fmt == "json":
        lines = [f"  {json.dumps(key)}: {_scalar(value, fmt)}" for key, value in chosen]
        return "{\n" + ",\n".join(lines) + "\n}\n"
    fence, separator = ("---", ": ") if fmt == "yaml" else ("+++", " = ")
    lines = [f"{key}{separator}{_scalar(value, fmt)}" for key, value in chosen]
    return "\n".join([fence, *lines, fence]) + "\n"


def render_post(entry: Entry, options: PostOptions | None = None) -> str:
    """One post as a stand-alone Markdown file: front matter, then the body."""
    options = options or PostOptions()
    body = post_body(entry, flavor=options.flavor, images=options.images)
    head = front_matter(entry, options.front_matter, options.fields)
    if not head:
        return body
    return head + ("\n" + body if body else "")


# --------------------------------------------------------------------------- file names


class _DateField:
    """A post's date inside a template; an undated post formats as "undated"."""

    def __init__(self, value: datetime | None) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        if self.value is None:
            return "undated"
        return self.value.strftime(spec or "%Y-%m-%d")


def check_template(template: str) -> None:
    """Raise ValueError unless ``template`` is a usable file name template."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"bad file name template {template!r}: {exc}") from None
    names = [name for _, name, _, _ in parsed if name is not None]
    for name, spec, conversion in ((n, s, c) for _, n, s, c in parsed if n is not None):
        if name not in TEMPLATE_FIELDS:
            raise ValueError(
                f"bad file name template {template!r}: unknown field {{{name}}}"
                f" (use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)})"
            )
        if conversion or (spec and ("{" in spec or name not in ("date", "index"))):
            raise ValueError(f"bad file name template {template!r}: {{{name}}} takes no format")
    if "slug" not in names and "index" not in names:
        raise ValueError(f"bad file name template {template!r}: it needs {{slug}} or {{index}}")
    if template.startswith("/") or template.endswith("/"):
        raise ValueError(f"bad file name template {template!r}: it must name a file inside DIR")


def _render_name(template: str, entry: Entry, slug: str, index: int) -> str:
    date = entry.date
    values = {
        "slug": slug,
        "date": _DateField(date),
        "year": f"{date:%Y}" if date else "undated",
        "month": f"{date:%m}" if date else "undated",
        "day": f"{date:%d}" if date else "undated",
        "index": index,
    }
    return string.Formatter().vformat(template, (), values)


def post_filenames(entries: Iterable[Entry], template: str = DEFAULT_FILENAME) -> list[str]:
    """One relative file name per post from ``template``, unique case-insensitively:
    a repeated slug becomes ``slug-2``, ``slug-3``… (so ``{slug}/index.md`` stays a folder
    per post)."""
    return list(iter_post_filenames(entries, template))


def iter_post_filenames(
    entries: Iterable[Entry], template: str = DEFAULT_FILENAME
) -> Iterator[str]:
    """:func:`post_filenames`, one name at a time, for streamed entries."""
    check_template(template)
    seen: set[str] = set()
    return iter_unique_names(_slugged_names(entries, template, seen))


def _slugged_names(entries: Iterable[Entry], template: str, seen: set[str]) -> Iterator[str]:
    for index, entry in enumerate(entries, start=1):
        base = slugify(entry.title, fallback="post")
        name = _render_name(template, entry, base, index)
        n = 2
        while name.casefold() in seen and n < 10_000:
            candidate = _render_name(template, entry, f"{base}-{n}", index)
            if candidate == name:
                break  # the template does not use {slug}: fall back to a suffix
            name = candidate
            n += 1
        seen.add(name.casefold())
        yield name


def _link_target(url: str) -> str:
    if any(ch in url for ch in " ()<>"):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url


def relative_link(from_file: str, to_file: str) -> str:
    """The relative URL path from one output file to another (both relative to DIR)."""
    start = posixpath.dirname(from_file) or "."
    return posixpath.relpath(to_file, start)


# --------------------------------------------------------------------------- writing


def post_images(entry: Entry) -> list[str]:
    """The http(s) URLs of the images a post's Markdown shows."""
    return list(image_sources(_body_html(entry)))


def image_filename(url: str, extension: str) -> str:
    """A stable, unique file name for the image at ``url``."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16] + "." + extension


def split_files(
    entries: Sequence[Entry],
    names: Sequence[str],
    options: PostOptions,
    images: Mapping[str, tuple[bytes, str]] | None = None,
    images_dir: str | None = None,
) -> list[tuple[str, bytes]]:
    """The files of a split conversion as (relative path, bytes): one per post and one
    per downloaded image. ``images`` maps an image URL to (data, extension); the image
    is saved next to its post, or in ``images_dir`` (relative to DIR) when given, and
    the post links to the local copy."""
    available = images or {}
    files: list[tuple[str, bytes]] = []
    saved: set[str] = set()
    for entry, name in zip(entries, names, strict=True):
        local: dict[str, str] = {}
        for url in post_images(entry) if available else ():
            if url not in available:
                continue
            data, extension = available[url]
            folder = images_dir if images_dir is not None else posixpath.dirname(name)
            path = posixpath.join(folder, image_filename(url, extension))
            local[url] = relative_link(name, path)
            if path not in saved:
                saved.add(path)
                files.append((path, data))
        post = render_post(entry, replace(options, images=local))
        files.append((name, post.encode("utf-8")))
    return files


@dataclass(frozen=True)
class SyncReport:
    written: int
    unchanged: int


def sync_files(
    files: Sequence[tuple[Path, bytes]],
    *,
    force: bool,
    progress: Callable[[Iterable[tuple[Path, bytes]], int], Iterable[tuple[Path, bytes]]]
    | None = None,
) -> SyncReport:
    """Write ``files``, skipping those whose content is already on disk. A file that
    exists with other content is replaced only with ``force``; without it nothing is
    written and OutputError names the first such file."""
    pending: list[tuple[Path, bytes]] = []
    unchanged = 0
    for path, data in files:
        if path.is_file() and not path.is_symlink():
            try:
                if path.read_bytes() == data:
                    unchanged += 1
                    continue
            except OSError as exc:
                raise OutputError(f"{path}: cannot read ({exc.strerror or exc})") from None
        check_writable(path, force=force)
        pending.append((path, data))
    items: Iterable[tuple[Path, bytes]] = (
        progress(pending, len(pending)) if progress is not None else pending
    )
    for path, data in items:
        atomic_write(path, data, force=force)
    return SyncReport(len(pending), unchanged)
