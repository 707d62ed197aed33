"""A chapter's body converted on its own, so that the pool can convert posts in parallel.

:func:`convert_part` runs footnote recognition and the validity pass for one post
(picklable: it may run in another process) with ids unique within the post. Footnotes
are recognised as the Markdown converter recognises them
(:func:`feedconv.markdown.split_footnotes`: docutils/Nikola, WordPress/Jetpack,
kramdown/Hugo, Python-Markdown, pandoc, markdown-it, DPUB-ARIA);
:func:`~._xhtml.html_body` turns the ``<fnref n>`` placeholders into
``epub:type="noteref"`` links and the notes into ``<aside epub:type="footnote">`` with
links back, which readers show as pop-ups.

:func:`adopt_part` then settles in the main process, in book order, what needs the whole
book: it renames the ids another chapter already took (so ids stay unique across the
book, links inside the post follow them), turns the links that lead to other posts of
the book into links to their chapters, and finds the image slots again, by the marks
:func:`convert_part` left on them. A post's conversion needs nothing of the book, so the
pool converts posts in the order the feed gives them while it is still being read.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field, replace
from typing import Final

from lxml import etree

from feedconv import markdown
from feedconv.writers.epub import _xhtml as x

# Marks on the elements the main process must find again (never left in a book).
_SLOT: Final = "data-feedconv-slot"
_POST: Final = "data-feedconv-post"


@dataclass(frozen=True)
class Part:
    """One post's converted body (picklable)."""

    # <div> holding the content <div>, then the notes <div> when there are notes;
    # deflated (zlib, fastest level): a book holds every part until the feed is read
    xml: bytes
    has_notes: bool
    ids: dict[str, str]  # original id → id in the post
    slots: list[tuple[tuple[str, ...], str]]  # image sources and alt text, per slot mark
    posts: list[tuple[str, str | None]]  # link key and fragment, per mark of a possible post
    id_order: list[str]  # the ids of the post's elements, in document order
    repairs: int
    warnings: list[str]  # what the conversion warned about, for the main process to log


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def convert_part(images: str, post: tuple[str, str | None, str]) -> Part:
    """Convert ``post`` (non-blank html, page URL, name for messages) on its own: what
    it needs of the book (ids taken elsewhere, which links lead to other posts) is
    settled by :func:`adopt_part`, so posts convert in any order."""
    html, page_url, item = post
    parsed, notes = markdown.split_footnotes(html, page_url)
    context = x.Context(page_url=page_url, images=images)
    # Warnings are handed back to the main process, which logs them in book order.
    collect = _Collect()
    x.logger.addHandler(collect)
    propagate, x.logger.propagate = x.logger.propagate, False
    try:
        content, notes_div = x.html_body(html, context, item, notes, parsed)
    finally:
        x.logger.removeHandler(collect)
        x.logger.propagate = propagate
    wrapper = x.el("div")
    wrapper.append(content)
    if notes_div is not None:
        wrapper.append(notes_div)
    for number, slot in enumerate(context.image_slots):
        slot.element.set(_SLOT, str(number))
    for number, (link, _key, _fragment) in enumerate(context.post_links):
        link.set(_POST, str(number))
    return Part(
        xml=zlib.compress(etree.tostring(wrapper, encoding="utf-8"), 1),
        has_notes=notes_div is not None,
        ids=context.ids,
        slots=[(slot.sources, slot.alt) for slot in context.image_slots],
        posts=[(key, fragment) for _link, key, fragment in context.post_links],
        id_order=[e.get("id") for e in wrapper.iter() if e.get("id") is not None],
        repairs=context.repairs,
        warnings=collect.messages,
    )


def adopt_part(
    part: Part, context: x.Context, chapters: dict[str, str]
) -> tuple[etree._Element, etree._Element | None]:
    """The content and notes of ``part`` as trees of this book: ids renamed where the
    book (``context.used``) holds them already, links to other posts of the book
    (``chapters``: the :func:`~._xhtml.link_key` of each post → its file) turned into
    links to their chapters, and ``context`` given the post's ids, image slots and
    links to an anchor in another post."""
    _hand_over(part, context)
    wrapper = etree.fromstring(zlib.decompress(part.xml))
    renamed: dict[str, str] = {}
    for element in wrapper.iter():
        old = element.get("id")
        if old is None:
            continue
        new = context.unique_id(old)
        if new is not None and new != old:
            element.set("id", new)
            renamed[old] = new
    if renamed:
        for link in wrapper.iter("a"):
            href = link.get("href")
            if href and href[0] == "#" and href[1:] in renamed:
                link.set("href", "#" + renamed[href[1:]])
    context.ids = {original: renamed.get(own, own) for original, own in part.ids.items()}
    slots: dict[int, x.ImageSlot] = {}
    for image in wrapper.iter("img"):
        mark = image.attrib.pop(_SLOT, None)
        if mark is not None:
            sources, alt = part.slots[int(mark)]
            slots[int(mark)] = x.ImageSlot(image, sources, alt)
    context.image_slots = [slots[number] for number in sorted(slots)]
    cross: dict[int, tuple[etree._Element, str, str]] = {}
    if part.posts:
        for link in wrapper.iter("a"):
            mark = link.attrib.pop(_POST, None)
            if mark is None:
                continue
            key, fragment = part.posts[int(mark)]
            chapter = chapters.get(key)
            if chapter is None or chapter == context.own_file:
                continue  # a page on the web
            link.set("href", chapter)
            link.attrib.pop("rel", None)
            if fragment is not None:
                cross[int(mark)] = (link, chapter, fragment)
    context.cross_links = [cross[number] for number in sorted(cross)]
    content = wrapper[0]
    notes_div = wrapper[1] if part.has_notes else None
    return content, notes_div


@dataclass
class Settled(x.Context):
    """A chapter's context whose ids across the book were settled ahead, in book order
    (:func:`settle_part`), so that :func:`adopt_part` can run in another process: it asks
    for the ids in the same order and gets the same answers."""

    settled: list[tuple[str, str | None]] = field(default_factory=list)
    _next: int = 0

    def unique_id(self, value: str) -> str | None:
        old, new = self.settled[self._next]
        assert old == value, "ids asked for out of order"
        self._next += 1
        return new


def settle_part(part: Part, context: x.Context) -> tuple[Part, list[tuple[str, str | None]]]:
    """What :func:`adopt_part` does in book order, done ahead for a part another process
    will adopt: its warnings logged, its repairs counted in ``context``, and the id each
    of its elements gets in the book (in document order, taken in ``context.used``).
    Returns the part without its warnings (they are logged once) and those ids."""
    _hand_over(part, context)
    settled = [(old, context.unique_id(old)) for old in part.id_order]
    return replace(part, warnings=[]), settled


def _hand_over(part: Part, context: x.Context) -> None:
    """Log the warnings of the part's conversion and count its repairs."""
    for message in part.warnings:
        x.logger.warning("%s", message)
    context.repairs += part.repairs


def settled_anchors(part: Part, settled: list[tuple[str, str | None]]) -> dict[str, str]:
    """Original id → id in the book, for the ids the adopted chapter holds (what links
    from other posts may point at)."""
    if not part.ids:
        return {}
    renamed = {old: new for old, new in settled if new is not None and new != old}
    present = {old if new is None else new for old, new in settled}
    ids = {original: renamed.get(own, own) for original, own in part.ids.items()}
    return {old: new for old, new in ids.items() if new in present}
