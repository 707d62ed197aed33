"""A quick look at a feed: counts, date range, authors, categories, posts per month.

:func:`summarize` turns a :class:`Feed` into a :class:`Summary` (plain values, sorted
deterministically) that the CLI shows as a table or prints as JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedconv.model import Feed

__all__ = ["Summary", "months_between", "summarize"]

TOP = 10


@dataclass(frozen=True, slots=True)
class Summary:
    title: str | None
    format: str | None
    home_page_url: str | None
    feed_url: str | None
    description: str | None
    language: str | None
    items: int
    undated: int
    first: datetime | None
    last: datetime | None
    authors: tuple[tuple[str, int], ...]  # (name, items), most items first
    categories: tuple[tuple[str, int], ...]  # top categories, most items first
    per_month: tuple[tuple[str, int], ...]  # ("YYYY-MM", items), every month first..last
    sources: tuple[tuple[str, int], ...]  # (feed, items) when several feeds were merged

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with a fixed key order; dates in RFC 3339."""
        return {
            "title": self.title,
            "format": self.format,
            "home_page_url": self.home_page_url,
            "feed_url": self.feed_url,
            "description": self.description,
            "language": self.language,
            "items": self.items,
            "undated": self.undated,
            "first": _stamp(self.first),
            "last": _stamp(self.last),
            "authors": [{"name": n, "items": c} for n, c in self.authors],
            "categories": [{"name": n, "items": c} for n, c in self.categories],
            "per_month": dict(self.per_month),
            "sources": [{"title": n, "items": c} for n, c in self.sources],
        }


def _stamp(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value else None


def _ranked(counter: Counter[str], top: int | None = None) -> tuple[tuple[str, int], ...]:
    ranked = sorted(counter.items(), key=lambda pair: (-pair[1], pair[0].casefold(), pair[0]))
    return tuple(ranked[:top] if top else ranked)


def months_between(first: datetime, last: datetime) -> list[str]:
    """Every ``YYYY-MM`` from ``first``'s month to ``last``'s, inclusive."""
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _count_labels(groups: Iterable[Iterable[str]]) -> Counter[str]:
    """Count each label once per item, merging labels that differ only in case (the
    first spelling met is shown)."""
    spelling: dict[str, str] = {}
    counter: Counter[str] = Counter()
    for labels in groups:
        keys = set()
        for label in labels:
            shown = " ".join(label.split())
            if shown:
                keys.add(spelling.setdefault(shown.casefold(), shown))
        counter.update(keys)
    return counter


def summarize(feed: Feed) -> Summary:
    entries = feed.entries
    dates = [e.date for e in entries if e.date is not None]
    first, last = (min(dates), max(dates)) if dates else (None, None)
    # Months are counted in UTC so that one instant always lands in one month.
    utc = [d.astimezone(UTC) for d in dates]
    per_month = Counter(f"{d:%Y-%m}" for d in utc)
    months: list[tuple[str, int]] = []
    if utc:
        months = [(m, per_month.get(m, 0)) for m in months_between(min(utc), max(utc))]
    authors = _count_labels([[a.label() or "" for a in e.authors] for e in entries])
    categories = _count_labels([list(e.categories) for e in entries])
    sources = Counter(e.source for e in entries if e.source)
    return Summary(
        title=feed.title,
        format=feed.format,
        home_page_url=feed.home_page_url,
        feed_url=feed.feed_url,
        description=feed.description,
        language=feed.language,
        items=len(entries),
        undated=len(entries) - len(dates),
        first=first,
        last=last,
        authors=_ranked(authors),
        categories=_ranked(categories, TOP),
        per_month=tuple(months),
        sources=tuple((name, sources[name]) for name in dict.fromkeys(sources)),
    )
