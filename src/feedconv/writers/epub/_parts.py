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
book, links inside the post follow them) and finds the image slots and the links to
other posts again, by the marks :func:`convert_part` left on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from lxml import etree

from feedconv import markdown
from feedconv.writers.epub import _xhtml as x

# Marks on the elements the main process must find again (never left in a book).
_SLOT: Final = "data-feedconv-slot"
_CROSS: Final = "data-feedconv-cross"


@dataclass(frozen=True)
class Part:
    """One post's converted body (picklable)."""

    xml: bytes  # <div> holding the content <div>, then the notes <div> when there are notes
    has_notes: bool
    ids: dict[str, str]  # original id → id in the post
    slots: list[tuple[tuple[str, ...], str]]  # image sources and alt text, per slot mark
    cross: list[tuple[str, str]]  # chapter file and fragment, per link mark
    repairs: int
    warnings: list[str]  # what the conversion warned about, for the main process to log


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def convert_part(
    chapters: dict[str, str], images: str, post: tuple[str, str | None, str, str]
) -> Part:
    """Convert ``post`` (non-blank html, page URL, own file, name for messages).
    ``chapters`` maps the link key of each post of the book to its file (see
    :class:`~._xhtml.Context`)."""
    html, page_url, own_file, item = post
    parsed, notes = markdown.split_footnotes(html, page_url)
    context = x.Context(page_url=page_url, images=images, chapters=chapters, own_file=own_file)
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
    for number, (link, _file, _fragment) in enumerate(context.cross_links):
        link.set(_CROSS, str(number))
    return Part(
        xml=etree.tostring(wrapper, encoding="utf-8"),
        has_notes=notes_div is not None,
        ids=context.ids,
        slots=[(slot.sources, slot.alt) for slot in context.image_slots],
        cross=[(file, fragment) for _link, file, fragment in context.cross_links],
        repairs=context.repairs,
        warnings=collect.messages,
    )


def adopt_part(part: Part, context: x.Context) -> tuple[etree._Element, etree._Element | None]:
    """The content and notes of ``part`` as trees of this book: ids renamed where the
    book (``context.used``) holds them already, and ``context`` given the post's ids,
    image slots and links to other posts."""
    for message in part.warnings:
        x.logger.warning("%s", message)
    context.repairs += part.repairs
    wrapper = etree.fromstring(part.xml)
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
    for link in wrapper.iter("a"):
        mark = link.attrib.pop(_CROSS, None)
        if mark is not None:
            cross[int(mark)] = (link, *part.cross[int(mark)])
    context.cross_links = [cross[number] for number in sorted(cross)]
    content = wrapper[0]
    notes_div = wrapper[1] if part.has_notes else None
    return content, notes_div
