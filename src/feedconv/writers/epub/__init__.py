"""Feed → EPUB 3 book (nav document, landmarks and NCX) that passes EPUBCheck.

The book holds a cover (generated, or the caller's image), a title page, an inline
contents page, one index page per group (feed, year, month or day, see
:data:`TOC_MODES`) and one XHTML chapter per entry. Entries from several feeds
(``Entry.source``) get a section per feed first. Entries without a date come last,
under "Undated".

Modules: :mod:`._xhtml` turns feed HTML into valid XHTML trees (the validity pass),
:mod:`._parts` converts one post's body on its own (footnotes and the validity pass,
in a pool when there is one) and adopts it into the book, :mod:`._chapters` builds and
serializes a chapter's document (here or in the pool), :mod:`._media` embeds images,
:mod:`._cover` draws the cover. Posts are converted in feed order (in a pool, while
the feed is read); the book then settles ids and links between posts in book order.
Without images to embed, the pool adopts and serializes the chapters as well
(:meth:`_BookBuilder._write_in_pool`); with images, chapters are adopted here and go
into the zip a batch at a time as soon as the batch's images are in
(:meth:`_BookBuilder._write_in_batches`). Either way memory never holds the whole book
as trees. The package document, navigation and index pages are written last (the zip's
order is not the reading order).

Determinism: the identifier is a uuid5 of the feed, ``dcterms:modified`` comes from the
options or the newest post, image files are named by their content, and every zip
entry carries one fixed timestamp. All ebooklib settings live in this module
(:data:`_WRITER_OPTIONS`, :class:`_Writer`).
"""

from __future__ import annotations

import functools
import io
import re
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final
from urllib.parse import urlsplit

from ebooklib import epub  # type: ignore[import-untyped]
from lxml import etree

from feedconv.errors import FeedconvError, InputError
from feedconv.model import Entry, Feed
from feedconv.writers.epub import _xhtml as x
from feedconv.writers.epub._chapters import (
    Job,
    Page,
    anchors_of,
    authors,
    chapter_body,
    finish_chapter,
    resolve_cross_links,
    serialize,
    text_relative,
)
from feedconv.writers.epub._media import IMAGE_FOLDER, BookImage, ImageEmbedder, ImagePolicy
from feedconv.writers.epub._parts import (
    Part,
    adopt_part,
    convert_part,
    settle_part,
    settled_anchors,
)
from feedconv.writers.epub._xhtml import EPUB_TYPE, MONTHS, el, one_line, sub

if TYPE_CHECKING:
    from feedconv.parallel import Mapper

__all__ = ["IMAGE_MODES", "STYLESHEET", "TOC_MODES", "BookOptions", "build_book", "write_book"]

logger = x.logger

_FALLBACK_MODIFIED: Final = datetime(2000, 1, 1, tzinfo=UTC)
_ZIP_EPOCH: Final = datetime(1980, 1, 1, tzinfo=UTC)
_STYLE_NAME: Final = "style/book.css"
_EXTRA_STYLE_NAME: Final = "style/extra.css"
_NAV_NAME: Final = "nav.xhtml"
_COVER_PAGE: Final = "text/cover.xhtml"
_TITLE_PAGE: Final = "text/title.xhtml"
_CONTENTS_PAGE: Final = "text/contents.xhtml"
_MAX_SUBJECTS: Final = 20
_CONTENTS_POSTS: Final = 100  # up to this many posts, the contents page lists them all
_STORED: Final = (".png", ".jpg", ".gif")
_FOLDER: Final = "EPUB"  # ebooklib's package folder
_RESERVED_IDS: Final = frozenset({"toc", "landmarks", "page-list"})  # ids ebooklib's nav uses
_BATCH_POSTS: Final = 64  # chapters converted before their images are fetched and written
_BATCH_IMAGES: Final = 64  # or image slots

#: Table of contents layouts: year → month → post, month → post, day → post, posts.
TOC_MODES: Final = ("year", "month", "day", "flat")
#: What happens to images: copied into the book, linked on the web, or left out.
IMAGE_MODES: Final = ("embed", "link", "drop")

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
/* feedconv: a quiet stylesheet for e-readers; the reader's font and size settings win. */
body { line-height: 1.45; margin: 0 0.4em; widows: 2; orphans: 2; }
h1 { font-size: 1.5em; line-height: 1.25; margin: 0.6em 0 0.3em; page-break-after: avoid; }
h2 { font-size: 1.3em; line-height: 1.3; page-break-after: avoid; }
h3 { font-size: 1.15em; page-break-after: avoid; }
h4, h5, h6 { font-size: 1em; page-break-after: avoid; }
p { margin: 0.55em 0; }
a { color: inherit; }
.header { margin: 0 0 1.4em; }
.byline { font-size: 0.8em; opacity: 0.75; margin: 0.2em 0 0; line-height: 1.5; }
.byline span + span:before { content: " \\00B7  "; }
.media { font-style: italic; }
.attachments { font-size: 0.9em; margin-top: 1.5em; }
pre { white-space: pre-wrap; overflow-wrap: break-word; word-wrap: break-word;
      font-size: 0.8em; line-height: 1.35; margin: 1em 0; padding: 0.5em 0.6em;
      border-left: 3px solid #bbb; background: #f4f4f4; page-break-inside: auto; }
code, kbd, samp { font-family: monospace; font-size: 0.9em; overflow-wrap: break-word;
                  word-wrap: break-word; }
pre code { font-size: 1em; }
blockquote { margin: 1em 0 1em 0.8em; padding-left: 0.8em; border-left: 3px solid #ccc; }
table { border-collapse: collapse; max-width: 100%; margin: 1em 0; font-size: 0.85em;
        overflow-x: auto; word-wrap: break-word; overflow-wrap: break-word; }
th, td { border: 1px solid #aaa; padding: 0.2em 0.4em; vertical-align: top; }
th { font-weight: bold; }
img { max-width: 100%; height: auto; }
figure { margin: 1em 0; text-align: center; page-break-inside: avoid; }
figure img { display: block; margin: 0 auto; max-height: 90vh; }
figcaption { font-size: 0.85em; opacity: 0.8; margin-top: 0.3em; }
sup, sub { line-height: 0; font-size: 0.75em; }
a.noteref { text-decoration: none; padding: 0 0.1em; }
.notes { margin-top: 2em; border-top: 1px solid #bbb; font-size: 0.9em; }
.notes aside, .notes .note { margin: 0.6em 0; }
.note-label { text-decoration: none; font-weight: bold; }
hr { border: 0; border-top: 1px solid #bbb; margin: 1.5em 20%; }
.title-page { text-align: center; margin-top: 3em; }
.title-page h1 { font-size: 2em; }
.title-page .dates, .title-page .count, .title-page .feeds { font-size: 0.9em; }
ul.index, ul.contents { list-style: none; padding-left: 0; }
ul.index ul, ul.contents ul { list-style: none; padding-left: 1.2em; }
.index li, .contents li { margin: 0.25em 0; }
.date, .count { font-size: 0.85em; opacity: 0.75; }
.cover-page { margin: 0; padding: 0; text-align: center; }
.cover-page img { max-width: 100%; max-height: 100vh; height: auto; }
"""


@dataclass(frozen=True)
class BookOptions:
    """How to build the book; every field defaults to what the feed says.

    The defaults do no I/O: images are links (``images="link"``). With ``"embed"``
    images are loaded (network, ``data:`` URIs, files under ``base_dir``) and
    ``image_cache`` (a folder) keeps downloads from one run to the next.
    """

    title: str | None = None  # overrides feed.title
    author: str | None = None  # overrides feed authors
    language: str | None = None  # overrides feed.language (default "en" when unknown)
    publisher: str | None = None  # default: the site's host name
    newest_first: bool = False  # chapter order; default oldest first
    # Fixed time for dcterms:modified (the CLI passes SOURCE_DATE_EPOCH here);
    # None → newest entry date, else 2000-01-01T00:00:00Z.
    modified: datetime | None = None
    toc: str = "year"  # one of TOC_MODES
    images: str = "link"  # one of IMAGE_MODES
    image_timeout: float = 20.0
    max_image_bytes: int = 20 * 1024 * 1024  # per image, as downloaded
    max_book_image_bytes: int = 200 * 1024 * 1024  # all images of the book
    image_workers: int = 8
    max_image_size: tuple[int, int] | None = None  # scale larger images down
    svg: bool = True  # False: SVG images become links (for readers without SVG)
    base_dir: Path | None = None  # folder of a local feed file, for relative images
    image_cache: Path | None = None
    cover: bytes | None = None  # a cover image; None → a generated one
    generate_cover: bool = True  # False (and no cover) → a book without a cover
    css: str | None = None  # a stylesheet added after the book's own


def build_book(
    feed: Feed,
    options: BookOptions = BookOptions(),
    *,
    mapper: Mapper | None = None,
    entries: Iterable[Entry] | None = None,
) -> bytes:
    """Return the bytes of an EPUB 3 book holding every entry of ``feed``.

    ``mapper`` (e.g. :func:`feedconv.parallel.ordered_map` bound to a number of jobs)
    converts the posts' bodies, possibly in other processes; the bytes never depend
    on it. ``entries``: see :func:`write_book`."""
    out = io.BytesIO()
    write_book(feed, out, options, mapper=mapper, entries=entries)
    return out.getvalue()


def write_book(
    feed: Feed,
    out: BinaryIO,
    options: BookOptions = BookOptions(),
    *,
    mapper: Mapper | None = None,
    entries: Iterable[Entry] | None = None,
) -> None:
    """:func:`build_book` into ``out``, a seekable binary file: the book is written as it
    is built, so memory never holds its bytes whole.

    ``entries``: the feed's entries while they are still being read (``feed`` is then
    only its header); the posts' bodies are converted as they come."""
    if options.toc not in TOC_MODES:
        raise ValueError(f"unknown table of contents layout {options.toc!r}")
    if options.images not in IMAGE_MODES:
        raise ValueError(f"unknown image mode {options.images!r}")
    cover = _given_cover(options.cover) if options.cover is not None else None
    read: list[Entry] = []
    parts = _convert_posts(
        feed.entries if entries is None else entries, read, options.images, mapper or map
    )
    feed = replace(feed, entries=tuple(read))
    if not feed.entries:
        raise InputError("feed has no items: nothing to put in a book")
    _BookBuilder(feed, options, cover, mapper).build(out, parts)


def _convert_posts(
    entries: Iterable[Entry], read: list[Entry], images: str, mapper: Mapper
) -> dict[int, Part]:
    """Each entry's converted body (:func:`convert_part`), by ``id()`` of the entry, in
    the order the entries come (a post's conversion needs nothing of the book). Every
    entry is appended to ``read`` as it is taken; an entry with a body without it (and
    with its title settled), so that the book does not hold every body twice."""
    bodied: list[Entry] = []

    def posts() -> Iterator[tuple[str, str | None, str]]:
        for entry in entries:
            if not _has_body(entry):
                read.append(entry)
                continue
            light = replace(
                entry,
                title=_entry_title(entry),
                summary=None,
                content_html=None,
                content_text=None,
            )
            read.append(light)
            bodied.append(light)
            yield (entry.content_html or "", entry.link, f"entry {entry.id!r}")

    converted = mapper(functools.partial(convert_part, images), posts())
    return {id(bodied[number]): part for number, part in enumerate(converted)}


def _given_cover(data: bytes) -> tuple[bytes, str, str]:
    """The caller's cover image made fit for a book: bytes, media type, extension."""
    from feedconv import images

    kind = images.sniff(data)
    if kind is None or kind[0] == images.SVG:
        raise InputError(
            "the cover image is not a PNG, JPEG, GIF, WebP, AVIF, BMP, ICO or TIFF image"
        )
    try:
        image = images.prepare_for_book(images.Image("cover", data, kind[0], kind[1]), svg=False)
    except FeedconvError as exc:
        raise InputError(f"the cover image cannot be used: {exc}") from None
    return image.data, image.media_type, image.extension


# ---------------------------------------------------------------------------- structure


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
    children: list[_Group | _Chapter] = field(default_factory=list)

    def chapters(self) -> Iterator[_Chapter]:
        for child in self.children:
            if isinstance(child, _Chapter):
                yield child
            else:
                yield from child.chapters()


@dataclass
class _Converted:
    """A chapter as trees, before images and links between posts are resolved."""

    chapter: _Chapter
    body: etree._Element
    context: x.Context


def _has_body(entry: Entry) -> bool:
    return bool(entry.content_html and entry.content_html.strip())


def _sort_key(entry: Entry) -> tuple[datetime, str]:
    date = entry.date
    assert date is not None
    return (date, entry.id)


def _entry_text(entry: Entry) -> str:
    """The readable text of an entry, for a title when it has none."""
    if entry.content_html:
        parsed = x.parse_fragment(entry.content_html)
        if parsed is not None:
            for element in list(parsed.iter()):
                tag = element.tag if isinstance(element.tag, str) else ""
                if (tag in x.DROPPED or tag == "math") and element.getparent() is not None:
                    x.detach(element)
            return " ".join(" ".join(parsed.itertext()).split())
    return one_line(entry.content_text or entry.summary)


def _entry_title(entry: Entry) -> str:
    title = one_line(entry.title)
    if title:
        return title
    return x.first_words(_entry_text(entry)) or "Untitled"


def _host(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").removeprefix("www.")
    except ValueError:
        return ""


def _short_span(dates: list[datetime]) -> str:
    """A date range said briefly: "2–15 April 2024", "2 April – 15 May 2024"."""
    if not dates:
        return ""
    first, last = dates[0], dates[-1]
    if (first.year, first.month) != (last.year, last.month):
        if first.year == last.year:
            return f"{first.day} {MONTHS[first.month - 1]} – {x.readable_date(last)}"
        return f"{x.readable_date(first)} – {x.readable_date(last)}"
    if first.day == last.day:
        return x.readable_date(last)
    return f"{first.day}–{x.readable_date(last)}"


def _date_span(dates: list[datetime]) -> str:
    if not dates:
        return ""
    first, last = x.readable_date(dates[0]), x.readable_date(dates[-1])
    return first if first == last else f"{first} – {last}"


class _BookBuilder:
    def __init__(
        self,
        feed: Feed,
        options: BookOptions,
        cover: tuple[bytes, str, str] | None = None,
        mapper: Mapper | None = None,
    ) -> None:
        self.feed = feed
        self.options = options
        self.cover = cover  # the caller's cover, made fit (see _given_cover)
        self.mapper: Mapper = mapper or map
        self.title = one_line(options.title) or one_line(feed.title) or "Untitled feed"
        lang = x.normalize_language(options.language) or x.normalize_language(feed.language)
        if lang is None and (options.language or feed.language):
            logger.warning("book: ignoring invalid language %r", options.language or feed.language)
        self.lang = lang or "en"
        self.rtl = x.is_rtl(self.lang)
        self.dates = sorted(e.date for e in feed.entries if e.date is not None)
        self.number = 0
        sources = list(dict.fromkeys(entry.source for entry in feed.entries))
        self.by_feed = len(sources) > 1
        if self.by_feed:
            self.tree: list[_Group | _Chapter] = []
            for index, source in enumerate(sources, start=1):
                uid = f"f{index:02d}"
                group = _Group(one_line(source) or "Other posts", uid, f"text/{uid}.xhtml")
                entries = [e for e in feed.entries if e.source == source]
                group.children = self._by_date(entries, f"{uid}-")
                self.tree.append(group)
        else:
            self.tree = self._by_date(list(feed.entries), "")
        css = (_STYLE_NAME, _EXTRA_STYLE_NAME) if options.css is not None else (_STYLE_NAME,)
        self.page = Page(self.lang, self.rtl, self.by_feed, css)

    # -- order and groups

    def _chapter(self, entry: Entry) -> _Chapter:
        self.number += 1
        uid = f"p{self.number:05d}"
        return _Chapter(entry, _entry_title(entry), uid, f"text/{uid}.xhtml")

    def _by_date(self, entries: list[Entry], prefix: str) -> list[_Group | _Chapter]:
        """Entries grouped by date as ``options.toc`` says; undated ones last."""
        reverse = self.options.newest_first
        dated = sorted((e for e in entries if e.date is not None), key=_sort_key, reverse=reverse)
        undated = sorted((e for e in entries if e.date is None), key=lambda e: e.id)
        mode = self.options.toc
        nodes: list[_Group | _Chapter] = []
        groups: dict[tuple[int, ...], _Group] = {}

        def group(key: tuple[int, ...], label: str, uid: str) -> _Group:
            if key not in groups:
                groups[key] = _Group(label, prefix + uid, f"text/{prefix}{uid}.xhtml")
                parent = groups.get(key[:1]) if len(key) == 2 and mode == "year" else None
                (parent.children if parent is not None else nodes).append(groups[key])
            return groups[key]

        for entry in dated:
            date = entry.date
            assert date is not None
            y, m, d = date.year, date.month, date.day
            month_label = f"{MONTHS[m - 1]} {y}"
            if mode == "flat":
                nodes.append(self._chapter(entry))
                continue
            if mode == "year":
                group((y,), str(y), f"y{y}")
                target = group((y, m), month_label, f"m{y}-{m:02d}")
            elif mode == "month":
                target = group((y, m), month_label, f"m{y}-{m:02d}")
            else:
                target = group((y, m, d), f"{d} {month_label}", f"d{y}-{m:02d}-{d:02d}")
            target.children.append(self._chapter(entry))
        if undated:
            last = _Group("Undated", f"{prefix}undated", f"text/{prefix}undated.xhtml")
            last.children = [self._chapter(entry) for entry in undated]
            nodes.append(last)
        return nodes

    def _walk(self, nodes: list[_Group | _Chapter] | None = None) -> Iterator[_Group | _Chapter]:
        """Reading order: each group's index page, then what the group holds."""
        for node in self.tree if nodes is None else nodes:
            yield node
            if isinstance(node, _Group):
                yield from self._walk(node.children)

    def _chapters(self) -> list[_Chapter]:
        return [node for node in self._walk() if isinstance(node, _Chapter)]

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
        if one_line(self.options.author):
            return [one_line(self.options.author)]
        creators = authors(self.feed.authors)
        if not creators:
            entry_authors = authors(a for e in self.feed.entries for a in e.authors)
            if len(entry_authors) <= 3:
                creators = entry_authors
        return creators

    def _publisher(self) -> str:
        return one_line(self.options.publisher) or _host(self.feed.home_page_url)

    def _subjects(self) -> list[str]:
        counts = Counter(
            label
            for entry in self.feed.entries
            for label in dict.fromkeys(one_line(c) for c in entry.categories)
            if label
        )
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold(), item[0]))
        return [label for label, _ in ranked[:_MAX_SUBJECTS]]

    def _metadata(self, book: Any, cover: Any) -> None:
        book.set_identifier(self._identifier())
        book.set_title(self.title)
        book.set_language(self.lang)
        for number, creator in enumerate(self._creators(), start=1):
            book.add_author(creator, uid=f"creator{number}")
        if self.dates:
            book.add_metadata("DC", "date", x.utc_stamp(self.dates[-1]))
        if self.feed.feed_url and one_line(self.feed.feed_url):
            book.add_metadata("DC", "source", one_line(self.feed.feed_url))
        if one_line(self.feed.description):
            book.add_metadata("DC", "description", one_line(self.feed.description))
        if self._publisher():
            book.add_metadata("DC", "publisher", self._publisher())
        for subject in self._subjects():
            book.add_metadata("DC", "subject", subject)
        if cover is not None:  # EPUB 2 readers (and Kindle) find the cover this way
            book.add_metadata(None, "meta", "", {"name": "cover", "content": cover.id})
        if self.rtl:
            book.set_direction("rtl")

    # -- documents

    def _page(self, uid: str, file_name: str, title: str, body: etree._Element) -> x.Document:
        document = self._listed(uid, file_name, title)
        document.content = self._serialize(file_name, title, body)
        return document

    def _listed(self, uid: str, file_name: str, title: str) -> x.Document:
        """A document as the package lists it; its bytes are set apart (or written)."""
        return x.Document(
            uid=uid,
            file_name=file_name,
            media_type="application/xhtml+xml",
            title=title,
            lang=self.lang,
        )

    def _serialize(self, file_name: str, title: str, body: etree._Element) -> bytes:
        return serialize(self.page, file_name, title, body)

    def _cover_page(self, image_name: str) -> x.Document:
        body = el("body", {"class": "cover-page"})
        body.set(EPUB_TYPE, "cover")
        div = sub(body, "div", {"class": "cover"})
        sub(div, "img", {"src": "../" + image_name, "alt": self.title})
        return self._page("coverpage", _COVER_PAGE, self.title, body)

    def _subtitle(self) -> str:
        span = _date_span(self.dates)
        return f"Posts from {span}" if span else ""

    def _title_page(self) -> x.Document:
        body = el("body")
        section = sub(body, "div", {"class": "title-page"})
        sub(section, "h1", None, self.title)
        creators = self._creators()
        if creators:
            sub(section, "p", {"class": "authors"}, ", ".join(creators))
        if one_line(self.feed.description):
            sub(section, "p", {"class": "description"}, one_line(self.feed.description))
        site = x.safe_url(self.feed.home_page_url)
        if site:
            p = sub(section, "p")
            sub(p, "a", {"href": site, "rel": "noopener"}, one_line(self.feed.home_page_url))
        if self.dates:
            sub(section, "p", {"class": "dates"}, self._subtitle())
        count = len(self.feed.entries)
        sub(section, "p", {"class": "count"}, f"{count} {'post' if count == 1 else 'posts'}")
        if self.by_feed:
            feeds = [node.label for node in self.tree if isinstance(node, _Group)]
            sub(section, "p", {"class": "feeds"}, "From " + ", ".join(feeds))
        return self._page("titlepage", _TITLE_PAGE, self.title, body)

    @staticmethod
    def _href(node: _Group | _Chapter) -> str:
        return text_relative(node.file_name)

    @staticmethod
    def _count(group: _Group) -> str:
        count = sum(1 for _ in group.chapters())
        return f" ({count} {'post' if count == 1 else 'posts'})"

    def _contents_page(self) -> x.Document:
        """The inline contents: every group (with its number of posts) and, in a small
        book, every post; in a big one only the posts that belong to no group."""
        body = el("body")
        sub(body, "h1", None, "Contents")

        every_post = self.number <= _CONTENTS_POSTS

        def listing(parent: etree._Element, nodes: list[_Group | _Chapter], top: bool) -> None:
            ul = sub(parent, "ul", {"class": "contents"})
            for node in nodes:
                if isinstance(node, _Chapter):
                    if top or every_post:
                        self._index_item(ul, node)
                    continue
                li = sub(ul, "li")
                sub(li, "a", {"href": self._href(node)}, node.label)
                sub(li, "span", {"class": "count"}, self._count(node))
                if every_post or any(isinstance(child, _Group) for child in node.children):
                    listing(li, node.children, False)

        listing(body, self.tree, True)
        return self._page("contents", _CONTENTS_PAGE, "Contents", body)

    def _index_page(self, group: _Group) -> x.Document:
        """A group's page: what it holds, one level further down."""
        body = el("body")
        sub(body, "h1", None, group.label)
        ul = sub(body, "ul", {"class": "index"})
        for child in group.children:
            if isinstance(child, _Chapter):
                self._index_item(ul, child)
                continue
            li = sub(ul, "li")
            sub(li, "a", {"href": self._href(child)}, child.label)
            if all(isinstance(grandchild, _Chapter) for grandchild in child.children):
                inner = sub(li, "ul")
                for grandchild in child.children:
                    assert isinstance(grandchild, _Chapter)
                    self._index_item(inner, grandchild)
            else:
                sub(li, "span", {"class": "count"}, self._count(child))
        return self._page(group.uid, group.file_name, group.label, body)

    def _index_item(self, ul: etree._Element, chapter: _Chapter) -> None:
        li = sub(ul, "li")
        sub(li, "a", {"href": self._href(chapter)}, chapter.title)
        date = chapter.entry.date
        if date is not None:
            sub(li, "span", {"class": "date"}, f" ({x.readable_date(date)})")

    def _convert(
        self,
        chapter: _Chapter,
        used: set[str],
        suffixes: dict[str, int],
        links: dict[str, str],
        part: Part | None,
    ) -> _Converted:
        entry = chapter.entry
        # Ids across the book and what adopt_part finds again (the body was converted
        # with its own context, links and images included).
        context = x.Context(
            page_url=entry.link, used=used, suffixes=suffixes, own_file=self._href(chapter)
        )
        content = notes_div = None
        if part is not None:
            content, notes_div = adopt_part(part, context, links)
            _log_repairs(entry, context)
        body = chapter_body(self.page, entry, chapter.title, content, notes_div)
        return _Converted(chapter, body, context)

    # -- images, links between posts, cover

    def _policy(self) -> ImagePolicy:
        o = self.options
        return ImagePolicy(
            timeout=o.image_timeout,
            max_bytes=o.max_image_bytes,
            max_book_bytes=o.max_book_image_bytes,
            workers=o.image_workers,
            max_size=o.max_image_size,
            svg=o.svg,
            base_dir=o.base_dir,
            cache_dir=o.image_cache,
        )

    def _cover_image(self) -> Any:
        """The cover image item (or None): the caller's image, else a generated one."""
        if self.cover is not None:
            data, media_type, extension = self.cover
        elif self.options.generate_cover:
            from feedconv.writers.epub._cover import make_cover

            site = _host(self.feed.home_page_url) or _host(self.feed.feed_url)
            data, media_type, extension = (
                make_cover(self.title, _short_span(self.dates), site),
                "image/png",
                "png",
            )
        else:
            return None
        cover = epub.EpubCover(uid="cover-image", file_name=f"{IMAGE_FOLDER}/cover.{extension}")
        cover.media_type = media_type
        cover.content = data
        return cover

    # -- assembly

    def _toc(self, nodes: list[_Group | _Chapter]) -> list[Any]:
        toc: list[Any] = []
        for node in nodes:
            if isinstance(node, _Chapter):
                toc.append(epub.Link(node.file_name, node.title, uid=f"toc-{node.uid}"))
            else:
                toc.append(
                    (epub.Section(node.label, href=node.file_name), self._toc(node.children))
                )
        return toc

    def _write_in_batches(
        self,
        chapters: list[_Chapter],
        parts: dict[int, Part],
        links: dict[str, str],
        add: Callable[[str, bytes], None],
    ) -> list[tuple[str, str]]:
        """Write the chapters of a book with images to embed: adopted here, in book
        order, and written a batch at a time as soon as the batch's images are in, so
        memory holds one batch of trees (and the chapters that link to an anchor in
        another post, until every post's ids are known). Returns the image files
        written (file name, media type)."""
        used = set(_RESERVED_IDS)
        suffixes: dict[str, int] = {}
        book_images: list[tuple[str, str]] = []

        def add_image(image: BookImage) -> None:
            add(image.file_name, image.data)
            book_images.append((image.file_name, image.media_type))

        embedder = ImageEmbedder(self._policy(), add_image)
        anchors: dict[str, dict[str, str]] = {}
        held: list[_Converted] = []
        batch: list[_Converted] = []

        def flush() -> None:
            embedder.embed([(f'post "{c.chapter.title}"', c.context.image_slots) for c in batch])
            for done in batch:
                anchors[self._href(done.chapter)] = anchors_of(done.body, done.context)
                if done.context.cross_links:
                    held.append(done)
                else:
                    add(done.chapter.file_name, self._chapter_bytes(done))
            batch.clear()

        slots = 0
        for chapter in chapters:
            part = parts.pop(id(chapter.entry), None)
            batch.append(self._convert(chapter, used, suffixes, links, part))
            slots += len(batch[-1].context.image_slots)
            if len(batch) >= _BATCH_POSTS or slots >= _BATCH_IMAGES:
                flush()
                slots = 0
        flush()
        for done in held:
            resolve_cross_links(done.context, anchors)
            add(done.chapter.file_name, self._chapter_bytes(done))
        return book_images

    def _write_in_pool(
        self,
        chapters: list[_Chapter],
        parts: dict[int, Part],
        links: dict[str, str],
        add: Callable[[str, bytes], None],
    ) -> None:
        """Write the chapters of a book without images to fetch. The ids across the
        book and the anchors links between posts may point at are settled here, in book
        order, from what each part lists; the pool then adopts each part and serializes
        its chapter (:func:`._chapters.finish_chapter`), written in book order as they come."""
        used = set(_RESERVED_IDS)
        suffixes: dict[str, int] = {}
        jobs: list[Job] = []
        anchors: dict[str, dict[str, str]] = {}
        for chapter in chapters:
            entry = chapter.entry
            own_file = self._href(chapter)
            part = parts.pop(id(entry), None)
            settled: list[tuple[str, str | None]] = []
            posts: dict[str, str] = {}
            if part is not None:
                context = x.Context(
                    page_url=entry.link, used=used, suffixes=suffixes, own_file=own_file
                )
                part, settled = settle_part(part, context)
                _log_repairs(entry, context)
                anchors[own_file] = settled_anchors(part, settled)
                # only the links this post has to posts of the book
                posts = {key: links[key] for key, _fragment in part.posts if key in links}
            jobs.append(Job(part, settled, posts, entry, chapter.title, chapter.file_name))
        finish = functools.partial(finish_chapter, self.page, anchors)
        for job, data in zip(jobs, self.mapper(finish, jobs), strict=True):
            add(job.file_name, data)

    def build(self, target: BinaryIO, parts: dict[int, Part]) -> None:
        """Write the book; ``parts``: each entry's converted body, by ``id()`` of the
        entry. Ids across the book, links between posts and images are settled here,
        in book order."""
        cover = self._cover_image()
        chapters = self._chapters()
        links: dict[str, str] = {}
        for chapter in chapters:
            for url in (chapter.entry.link, chapter.entry.id):
                if url and url.startswith(("http://", "https://")):
                    links.setdefault(x.link_key(url), self._href(chapter))
        out = _open_zip(target, self._modified())
        written: set[str] = set()

        def add(file_name: str, data: bytes) -> None:
            out.writestr(f"{_FOLDER}/{file_name}", data)
            written.add(file_name)

        book_images: list[tuple[str, str]] = []  # file name, media type
        if self.options.images == "embed" and any(part.slots for part in parts.values()):
            book_images = self._write_in_batches(chapters, parts, links, add)
        else:
            self._write_in_pool(chapters, parts, links, add)
        book = epub.EpubBook()
        self._metadata(book, cover)
        style = epub.EpubItem(
            uid="style", file_name=_STYLE_NAME, media_type="text/css", content=STYLESHEET.encode()
        )
        book.add_item(style)
        if self.options.css is not None:
            book.add_item(
                epub.EpubItem(
                    uid="style-extra",
                    file_name=_EXTRA_STYLE_NAME,
                    media_type="text/css",
                    content=self.options.css.encode("utf-8"),
                )
            )
        spine: list[Any] = []
        guide: list[dict[str, str]] = []
        if cover is not None:
            book.add_item(cover)
            spine.append(book.add_item(self._cover_page(cover.file_name)))
            guide.append({"type": "cover", "href": _COVER_PAGE, "title": "Cover"})
        spine.append(book.add_item(self._title_page()))
        spine.append(book.add_item(self._contents_page()))
        guide.append({"type": "titlepage", "href": _TITLE_PAGE, "title": "Title page"})
        guide.append({"type": "toc", "href": _CONTENTS_PAGE, "title": "Contents"})
        nav = epub.EpubNav(title="Contents", direction="rtl" if self.rtl else None)
        nav.add_item(style)
        book.add_item(nav)
        book.add_item(epub.EpubNcx())
        for node in self._walk():
            if isinstance(node, _Chapter):
                document = self._listed(node.uid, node.file_name, node.title)
            else:
                document = self._index_page(node)
            book.add_item(document)
            spine.append(document)
        for file_name, media_type in book_images:
            uid = "img-" + re.sub(r"[^A-Za-z0-9]", "-", file_name.rsplit("/", 1)[-1])
            book.add_item(
                epub.EpubImage(uid=uid, file_name=file_name, media_type=media_type, content=b"")
            )
        first = self.tree[0]
        guide.append({"type": "bodymatter", "href": first.file_name, "title": "Posts"})
        book.spine = spine
        book.guide = guide
        book.toc = self._toc(self.tree)
        _Writer(out, book, self._modified(), written).write()

    def _chapter_bytes(self, done: _Converted) -> bytes:
        chapter = done.chapter
        return self._serialize(chapter.file_name, chapter.title, done.body)


def _log_repairs(entry: Entry, context: x.Context) -> None:
    if context.repairs:
        logger.debug("entry %r: %d HTML repairs for EPUB", entry.id, context.repairs)


def _open_zip(out: BinaryIO, stamp: datetime) -> _FixedTimeZip:
    """The book's zip, its ``mimetype`` entry written first and stored, as OCF requires;
    every entry is stamped with ``stamp`` (the book's modification time)."""
    stamp = max(stamp.astimezone(UTC), _ZIP_EPOCH)
    zip_file = _FixedTimeZip(
        out, "w", zipfile.ZIP_DEFLATED, compresslevel=_WRITER_OPTIONS["compresslevel"]
    )
    zip_file.date_time = (
        stamp.year,
        stamp.month,
        stamp.day,
        stamp.hour,
        stamp.minute,
        stamp.second,
    )
    zip_file.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
    return zip_file


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
            if compress_type is None and zinfo_or_arcname.endswith(_STORED):
                compress_type = zipfile.ZIP_STORED  # compressed already: deflate gains nothing
            info.compress_type = self.compression if compress_type is None else compress_type
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)


class _Writer(epub.EpubWriter):  # type: ignore[misc]
    """ebooklib's writer, into a zip that holds some documents already (``written``:
    their file names); it adds the container, the package document, the navigation
    and every other item. Exceptions propagate."""

    def __init__(self, out: _FixedTimeZip, book: Any, stamp: datetime, written: set[str]) -> None:
        # ebooklib formats mtime with a literal "Z": hand it naive UTC.
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
        super().__init__("", book, {**_WRITER_OPTIONS, "mtime": stamp})
        self.zip_file = out
        self.written = written

    def write(self) -> None:
        self.process()
        self.out = self.zip_file
        self._write_container()
        self._write_opf()
        items = self.book.items
        self.book.items = [item for item in items if item.file_name not in self.written]
        try:
            self._write_items()
        finally:
            self.book.items = items
        self.out.close()
