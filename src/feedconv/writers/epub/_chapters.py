"""A chapter's document: its body (title, byline, the post, its notes and attachments)
and its bytes, built the same way in the main process and in the pool
(:func:`finish_chapter` adopts a converted part with the ids settled for it and
serializes its chapter)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from feedconv.model import Author, Entry
from feedconv.writers.epub import _xhtml as x
from feedconv.writers.epub._parts import Part, Settled, adopt_part
from feedconv.writers.epub._xhtml import el, one_line, sub


@dataclass(frozen=True)
class Page:
    """What every document of the book shares (picklable, for the pool)."""

    lang: str
    rtl: bool
    by_feed: bool  # posts from several feeds: bylines name the feed
    css: tuple[str, ...]  # the stylesheets, relative to the package folder


def text_relative(file_name: str) -> str:
    """A document's address from another document of the text folder (``file_name``
    is relative to the package folder)."""
    return file_name.removeprefix("text/")


def serialize(page: Page, file_name: str, title: str, body: etree._Element) -> bytes:
    """The bytes of the document ``file_name`` (relative to the package folder)."""
    prefix = "../" if "/" in file_name else ""
    return x.document(title, page.lang, page.rtl, [prefix + name for name in page.css], body)


def chapter_body(
    page: Page,
    entry: Entry,
    title: str,
    content: etree._Element | None,
    notes_div: etree._Element | None,
) -> etree._Element:
    """A chapter's ``<body>``: the title and byline, the post's content (``None``: its
    text, the entry having no HTML body), its notes and its attachments."""
    body = el("body")
    lang = x.normalize_language(entry.language)
    if lang and lang.lower() != page.lang.lower():
        body.set("lang", lang)
        body.set("dir", "rtl" if x.is_rtl(lang) else "ltr")
    header = sub(body, "div", {"class": "header"})
    sub(header, "h1", None, title)
    byline = _byline(entry, page.by_feed)
    if len(byline):
        header.append(byline)
    if content is None:
        content = el("div", {"class": "content"})
        x.text_body(content, entry.content_text or entry.summary or "")
    body.append(content)
    if notes_div is not None:
        body.append(notes_div)
    attachments = _attachments(entry)
    if attachments is not None:
        body.append(attachments)
    return body


def _byline(entry: Entry, by_feed: bool) -> etree._Element:
    byline = el("p", {"class": "byline"})
    date = entry.date
    if date is not None:
        span = sub(byline, "span")
        sub(
            span,
            "time",
            {"datetime": date.isoformat(timespec="seconds")},
            x.readable_date(date),
        )
    names = authors(entry.authors)
    if names:
        sub(byline, "span", {"class": "authors"}, "by " + ", ".join(names))
    if by_feed and one_line(entry.source):
        sub(byline, "span", {"class": "source"}, "from " + one_line(entry.source))
    categories = list(dict.fromkeys(c for c in (one_line(c) for c in entry.categories) if c))
    if categories:
        sub(byline, "span", {"class": "categories"}, "in " + ", ".join(categories))
    link = x.safe_url(entry.link)
    if link:
        span = sub(byline, "span")
        sub(span, "a", {"href": link, "rel": "noopener"}, "Original post")
    external = x.safe_url(entry.external_url)
    if external and external != link:
        span = sub(byline, "span")
        sub(span, "a", {"href": external, "rel": "noopener"}, "Linked page")
    return byline


def _attachments(entry: Entry) -> etree._Element | None:
    links = [(e, x.safe_url(e.url)) for e in entry.enclosures]
    links = [(e, url) for e, url in links if url]
    if not links:
        return None
    div = el("div", {"class": "attachments"})
    sub(div, "p", None, "Attachments:")
    ul = sub(div, "ul")
    for enclosure, url in links:
        assert url is not None
        label = one_line(enclosure.title) or url
        kind = (enclosure.media_type or "").split("/", 1)[0]
        li = sub(ul, "li")
        a = sub(li, "a", {"href": url, "rel": "noopener"}, f"[{kind}] {label}" if kind else label)
        if url.startswith("mailto:"):
            a.attrib.pop("rel")
    return div


def anchors_of(body: etree._Element, context: x.Context) -> dict[str, str]:
    """Original id → id, for the ids a chapter really holds (links from other posts
    may point at them)."""
    if not context.ids:
        return {}
    present = set(body.xpath(".//@id"))
    return {old: new for old, new in context.ids.items() if new in present}


def resolve_cross_links(context: x.Context, anchors: dict[str, dict[str, str]]) -> None:
    """Links to an anchor in another post: to that anchor when it exists.
    ``anchors``: :func:`_anchors` of the chapters linked to, by file."""
    for link, target_file, fragment in context.cross_links:
        anchor = anchors.get(target_file, {}).get(fragment)
        if anchor:
            link.set("href", f"{target_file}#{anchor}")


@dataclass(frozen=True)
class Job:
    """What the pool needs to finish one chapter (picklable)."""

    part: Part | None  # None: the entry has no HTML body
    settled: list[tuple[str, str | None]]  # see _parts.settle_part
    chapters: dict[str, str]  # link key → chapter file, for the post's links to others
    entry: Entry
    title: str
    file_name: str


def finish_chapter(page: Page, anchors: dict[str, dict[str, str]], job: Job) -> bytes:
    """The bytes of one chapter document: its part adopted with the ids settled for it,
    links to an anchor in another post resolved (``anchors``: by chapter file)."""
    content = notes_div = None
    if job.part is not None:
        own_file = text_relative(job.file_name)
        context = Settled(page_url=job.entry.link, own_file=own_file, settled=job.settled)
        content, notes_div = adopt_part(job.part, context, job.chapters)
        resolve_cross_links(context, anchors)
    body = chapter_body(page, job.entry, job.title, content, notes_div)
    return serialize(page, job.file_name, job.title, body)


def authors(people: Iterable[Author]) -> list[str]:
    """The distinct one-line names of ``people``, in order."""
    labels: list[str] = []
    for author in people:
        label = one_line(author.label())
        if label and label not in labels:
            labels.append(label)
    return labels
