"""Choosing entries: date window, filters, order and limit. Pure functions over entries.

Nothing here reads the clock: relative dates (``7d``) are resolved against a ``now``
that the caller passes in. Dates written without an offset are taken as UTC.

The steps run in a fixed order (:func:`select_entries`): filters (date window,
undated, category, author, text), then an optional caller predicate (the state file's
"new or changed"), then the order, then the limit, so ``--limit 10`` means the first
ten *selected* entries in the chosen order.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import lxml.html
from lxml import etree

from feedconv.model import Entry

log = logging.getLogger(__name__)

__all__ = [
    "Order",
    "Selection",
    "Undated",
    "entry_text",
    "order_entries",
    "parse_when",
    "select_entries",
]


class Order(enum.StrEnum):
    NEWEST = "newest"  # newest first, undated last
    OLDEST = "oldest"  # oldest first, undated last
    FEED = "feed"  # as the feeds list them, feed after feed


class Undated(enum.StrEnum):
    KEEP = "keep"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which entries to keep and in what order. The defaults keep everything as it is."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # inclusive
    limit: int | None = None
    categories: tuple[str, ...] = ()  # any of them, compared case-insensitively
    author: str | None = None  # part of an author's name, email or URL
    match: str | None = None  # part of the title, summary or body text
    order: Order = Order.FEED
    undated: Undated = Undated.KEEP

    @property
    def filters(self) -> bool:
        """True when some entries may be left out."""
        return bool(self.since or self.until or self.limit is not None or self.categories) or bool(
            self.author or self.match or self.undated is Undated.DROP
        )


# --------------------------------------------------------------------------- dates

_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$", re.I)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_when(text: str, now: datetime, *, end: bool = False) -> datetime:
    """A date bound from the command line, as an aware datetime.

    Accepted: relative ``12h``, ``7d``, ``2w`` (that long before ``now``); ``2024``,
    ``2024-05`` and ``2024-05-31`` (the start of that period, or its last microsecond
    when ``end`` is true, so ``--until 2024`` includes all of 2024); an ISO 8601 date
    and time, with or without an offset (none means UTC). Raises ValueError.
    """
    value = text.strip()
    try:
        return _parse_when(value, now, end)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date: use 2024-05-31, 2024-05, 2024, an ISO date and time,"
            " or a relative 12h, 7d, 2w"
        ) from None


def _parse_when(value: str, now: datetime, end: bool) -> datetime:
    relative = _RELATIVE.match(value)
    if relative:
        return now - int(relative.group(1)) * _UNITS[relative.group(2).lower()]
    if _YEAR.match(value):
        start = date(int(value), 1, 1)
        after = date(start.year + 1, 1, 1)
        return _day_bound(start, after, end)
    month = _MONTH.match(value)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise ValueError(value)
        start = date(year, number, 1)
        after = date(year + number // 12, number % 12 + 1, 1)
        return _day_bound(start, after, end)
    if len(value) == 10:
        day = date.fromisoformat(value)
        return _day_bound(day, day + timedelta(days=1), end)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day_bound(start: date, after: date, end: bool) -> datetime:
    if end:
        return datetime.combine(after, time(), tzinfo=UTC) - timedelta(microseconds=1)
    return datetime.combine(start, time(), tzinfo=UTC)


# --------------------------------------------------------------------------- text


def entry_text(entry: Entry) -> str:
    """The readable text of an entry's body (HTML tags removed), whitespace collapsed."""
    parts: list[str] = []
    if entry.content_html:
        parts.append(_html_text(entry.content_html))
    if entry.content_text:
        parts.append(entry.content_text)
    return " ".join(" ".join(parts).split())


def _html_text(fragment: str) -> str:
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    return str(root.text_content())


def _fold(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


# --------------------------------------------------------------------------- filters


def _in_window(entry: Entry, selection: Selection) -> bool:
    when = entry.date
    if when is None:
        return selection.undated is Undated.KEEP
    if selection.since and when < selection.since:
        return False
    return not (selection.until and when > selection.until)


def _has_category(entry: Entry, wanted: frozenset[str]) -> bool:
    return any(_fold(category) in wanted for category in entry.categories)


def _by_author(entry: Entry, needle: str) -> bool:
    return any(
        needle in _fold(value)
        for author in entry.authors
        for value in (author.name, author.email, author.url)
        if value
    )


def _mentions(entry: Entry, needle: str) -> bool:
    for text in (entry.title, entry.summary):
        if needle in _fold(text):
            return True
    return needle in _fold(entry_text(entry))


def filter_entries(entries: Iterable[Entry], selection: Selection) -> list[Entry]:
    """The entries that pass every filter of ``selection``, in their original order."""
    return list(iter_filtered(entries, selection))


def iter_filtered(entries: Iterable[Entry], selection: Selection) -> Iterator[Entry]:
    """:func:`filter_entries`, lazily, for streamed entries."""
    wanted = frozenset(_fold(c) for c in selection.categories if _fold(c))
    author = _fold(selection.author)
    needle = _fold(selection.match)
    for entry in entries:
        if not _in_window(entry, selection):
            continue
        if wanted and not _has_category(entry, wanted):
            continue
        if author and not _by_author(entry, author):
            continue
        if needle and not _mentions(entry, needle):
            continue
        yield entry


# --------------------------------------------------------------------------- order


def order_entries(entries: Sequence[Entry], order: Order) -> list[Entry]:
    """Entries in ``order``. Date orders are total: ties fall back to the id, and
    undated entries come last in their original order."""
    if order is Order.FEED:
        return list(entries)
    dated = [e for e in entries if e.date is not None]
    undated = [e for e in entries if e.date is None]
    newest = order is Order.NEWEST
    dated.sort(key=lambda e: (e.date, e.id), reverse=newest)  # type: ignore[arg-type, return-value]
    return dated + undated


def select_entries(
    entries: Sequence[Entry],
    selection: Selection,
    keep: Callable[[Entry], bool] | None = None,
) -> list[Entry]:
    """Filter, then ``keep`` (if given), then order, then limit."""
    chosen = filter_entries(entries, selection)
    if keep is not None:
        chosen = [entry for entry in chosen if keep(entry)]
    chosen = order_entries(chosen, selection.order)
    if selection.limit is not None:
        chosen = chosen[: max(selection.limit, 0)]
    if len(chosen) != len(entries):
        log.info("selected %d of %d items", len(chosen), len(entries))
    return chosen
