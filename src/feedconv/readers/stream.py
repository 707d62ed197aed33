"""Streaming read of a feed file: the header first, then one entry at a time.

An XML feed is fed to the hardened pull parser in chunks; each finished item is read
into an :class:`Entry` and its element is cleared, so memory holds one item at a time
whatever the size of the file. Anything the strict streaming parse cannot handle (a
DOCTYPE, a doubtful encoding, ill-formed XML, a misspelled namespace) falls back to
:func:`feedconv.readers.read_feed` on the whole file, with its repairs and warnings;
entries already delivered are not delivered twice.

Given a ``mapper`` (an order-keeping map over a pool of processes), the main process
only parses: each finished item goes to the pool as its own XML (with the base URL its
ancestors give it), and a worker parses it again and reads it, body cleaning included,
which is most of the work (the pool logs a worker's warnings in item order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lxml import etree

from feedconv.errors import InputError
from feedconv.model import Entry, Feed
from feedconv.readers import atom, read_feed, rss
from feedconv.readers._common import (
    ALIAS_MARKS,
    NS,
    XML_BASE,
    has_xml_base,
    local_name,
    namespace,
)
from feedconv.readers._xml import (
    make_parser,
    make_pull_parser,
    needs_repair_pass,
    suspicious_chunk,
)

if TYPE_CHECKING:
    from feedconv.parallel import Mapper

log = logging.getLogger(__name__)

CHUNK = 1 << 16
_OVERLAP = 64
_JSON_START = (b"{", b"[")


class _Fallback(Exception):
    """The streaming parse gave up; read the whole file with repairs instead."""


def stream_feed(
    path: Path,
    url: str | None = None,
    *,
    max_bytes: int | None = None,
    unescape_twice: bool = False,
    mapper: Mapper | None = None,
) -> tuple[Feed, Iterator[Entry]]:
    """Read the feed file at ``path``: its header (a Feed without entries) and an
    iterator over its entries in document order. ``unescape_twice`` as for
    :func:`~feedconv.readers.read_feed`; ``mapper``: read the items in a pool (see the
    module's description)."""
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if max_bytes is not None and size > max_bytes:
        handle.close()
        raise InputError(f"{path}: input is larger than the {max_bytes:,}-byte limit")
    head = handle.read(CHUNK)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in _JSON_START or needs_repair_pass(head):
        handle.close()
        return _whole(path, url, 0, unescape_twice)
    stream = _XmlStream(handle, head, url, unescape_twice, mapper)
    try:
        feed = stream.prime()
    except _Fallback:
        handle.close()
        return _whole(path, url, 0, unescape_twice)
    return feed, _entries(stream, path, url)


def _whole(
    path: Path, url: str | None, skip: int, unescape_twice: bool
) -> tuple[Feed, Iterator[Entry]]:
    feed = read_feed(path.read_bytes(), url, unescape_twice=unescape_twice)
    entries = feed.entries[skip:]
    return _header(feed), iter(entries)


def _header(feed: Feed) -> Feed:
    from dataclasses import replace

    return replace(feed, entries=())


def _entries(stream: _XmlStream, path: Path, url: str | None) -> Iterator[Entry]:
    delivered = 0
    try:
        for entry in stream.entries():
            delivered += 1
            yield entry
    except _Fallback:
        log.debug("streaming parse of %s stopped after %d items; re-reading", path, delivered)
        yield from _whole(path, url, delivered, stream.unescape_twice)[1]
    finally:
        stream.close()


_ENTRY_TAGS = (*rss.ENTRY_TAGS, *atom.ENTRY_TAGS)


class _XmlStream:
    """The pull parser reports the end of items/entries only; what precedes the first
    one is read as the header from the partial tree."""

    def __init__(
        self,
        handle: BinaryIO,
        head: bytes,
        url: str | None,
        unescape_twice: bool,
        mapper: Mapper | None = None,
    ) -> None:
        self.handle = handle
        self.pending = [head]
        self.parser = make_pull_parser(tags=_ENTRY_TAGS, base_url=url)
        self.url = url
        self.unescape_twice = unescape_twice
        self.mapper = mapper
        self.root: etree._Element | None = None
        self.atom = False
        self.read_entry: Callable[[etree._Element], Entry] | None = None
        self.first: etree._Element | None = None
        self.tail = b""
        self.done = False
        self._iter: Iterator[etree._Element] = iter(())

    def close(self) -> None:
        self.handle.close()

    def _events(self) -> Iterator[etree._Element]:
        while not self.done:
            chunk = self.pending.pop() if self.pending else self.handle.read(CHUNK)
            if chunk:
                window = self.tail + chunk
                if suspicious_chunk(window) or (
                    b"xmlns" in window and any(m in window for m in ALIAS_MARKS)
                ):
                    raise _Fallback()
                self.tail = chunk[-_OVERLAP:]
            try:
                if chunk:
                    self.parser.feed(chunk)
                else:
                    self.done = True
                    root = self.parser.close()
                    if self.root is None:
                        self.root = root
                events = list(self.parser.read_events())
            except (etree.XMLSyntaxError, UnicodeDecodeError, ValueError):
                raise _Fallback() from None
            for _event, element in events:
                yield element

    def prime(self) -> Feed:
        """Parse up to the end of the first entry (or of the document) and read the
        header from what precedes it."""
        self._iter = self._events()
        for element in self._iter:
            if self.root is None:
                self.root = element.getroottree().getroot()
                self._choose_reader(self.root)
            if self._is_entry(element):
                self.first = element
                break
        if self.root is None:
            raise _Fallback()
        if self.first is None:
            self._choose_reader(self.root)
        reader = atom if self.atom else rss
        feed, self.read_entry = reader.read_header(
            self.root, self.url, unescape_twice=self.unescape_twice
        )
        return feed

    def _choose_reader(self, root: etree._Element) -> None:
        name = local_name(root)
        if name == "feed" and namespace(root) in (NS["atom"], NS["atom03"], None):
            self.atom = True
        elif name not in ("rss", "RDF", "channel"):
            raise _Fallback()  # read_feed gives the proper "not a feed" error

    def _is_entry(self, element: etree._Element) -> bool:
        if self.atom:
            return element.tag in atom.ENTRY_TAGS and element.getparent() is self.root
        return element.tag in rss.ENTRY_TAGS

    def entries(self) -> Iterator[Entry]:
        if self.mapper is None:
            for element in self._finished():
                yield self._take(element)
            return
        assert self.read_entry is not None
        reader = ItemReader(self.read_entry, self.url)
        items = (self._detach(element) for element in self._finished())
        yield from self.mapper(reader, items)

    def _finished(self) -> Iterator[etree._Element]:
        """Each item's element once the parser has finished it, in document order."""
        if self.first is not None:
            first, self.first = self.first, None
            yield first
        for element in self._iter:
            if self._is_entry(element):
                yield element

    def _detach(self, element: etree._Element) -> tuple[bytes, str | None]:
        parent = element.getparent()
        inherited = parent.base if parent is not None and has_xml_base(parent) else None
        xml = etree.tostring(element, encoding="utf-8", with_tail=False)
        self._forget(element)
        return xml, inherited

    def _take(self, element: etree._Element) -> Entry:
        assert self.read_entry is not None
        entry = self.read_entry(element)
        self._forget(element)
        return entry

    @staticmethod
    def _forget(element: etree._Element) -> None:
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]


class ItemReader:
    """Reads one item given as its own XML, in a worker: ``read_entry`` is the reader's
    picklable item function (from ``read_header``)."""

    def __init__(self, read_entry: Callable[[etree._Element], Entry], url: str | None) -> None:
        self.read_entry = read_entry
        self.url = url

    def __call__(self, item: tuple[bytes, str | None]) -> Entry:
        xml, inherited = item
        element = etree.fromstring(xml, _item_parser(), base_url=self.url)
        if inherited is not None:
            # The ancestors' xml:base, which relative references inside resolve against.
            holder = etree.Element("holder")
            holder.set(XML_BASE, inherited)
            holder.append(element)
        return self.read_entry(element)


_PARSER: etree.XMLParser | None = None


def _item_parser() -> etree.XMLParser:
    """The hardened parser, built once per process."""
    global _PARSER
    if _PARSER is None:
        _PARSER = make_parser()
    return _PARSER
