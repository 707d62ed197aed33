"""The one feed model that every reader produces and every writer consumes.

All fields are fixed; unknown values are ``None`` (or an empty tuple). Datetimes are
always timezone-aware and keep the offset the feed gave. HTML fields (``content_html``)
hold fragments that already went through :mod:`feedconv.htmlclean`: absolute URLs and
no active content. Text fields are plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Author:
    name: str | None = None
    url: str | None = None
    email: str | None = None

    def label(self) -> str | None:
        """The best human-readable label: name, else email, else URL."""
        return self.name or self.email or self.url


@dataclass(frozen=True, slots=True)
class Enclosure:
    url: str
    media_type: str | None = None
    length: int | None = None
    title: str | None = None
    duration: int | None = None  # seconds


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str | None = None
    link: str | None = None
    external_url: str | None = None
    authors: tuple[Author, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    summary: str | None = None  # plain text
    content_html: str | None = None  # cleaned HTML fragment
    content_text: str | None = None  # plain text body, when the feed gives no HTML
    image: str | None = None
    language: str | None = None
    source: str | None = None  # title of the feed it came from, when feeds are merged

    @property
    def date(self) -> datetime | None:
        """The date a reader would file this post under: published, else updated."""
        return self.published or self.updated


@dataclass(frozen=True, slots=True)
class Feed:
    title: str | None = None
    format: str | None = None  # e.g. "rss2.0", "atom1.0", "json1.1"
    home_page_url: str | None = None
    feed_url: str | None = None
    description: str | None = None  # plain text
    language: str | None = None
    authors: tuple[Author, ...] = ()
    icon: str | None = None
    favicon: str | None = None
    updated: datetime | None = None
    entries: tuple[Entry, ...] = field(default=())
