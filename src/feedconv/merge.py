"""Several feeds → one: read them all, name their sources, drop repeated entries.

Entries keep the order of their feed, feeds the order they were given. When more than
one feed is merged every entry's ``source`` names the feed it came from, so writers can
group by feed. An entry that an *earlier* feed already holds is dropped; two entries
are the same when they share a global id, else the same link, else the same title and
date. Ids are only compared when they look globally unique (a URI, URN or tag, i.e.
they hold a ``:``): JSON Feed ids such as ``"1"`` are only unique within their feed.
Entries repeated within one feed are the feed's business and are all kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar
from urllib.parse import urlsplit

from feedconv.errors import InputError
from feedconv.model import Author, Entry, Feed

log = logging.getLogger(__name__)

__all__ = ["dedupe_keys", "gather", "global_id", "merge_feeds"]

S = TypeVar("S")


def gather(
    names: Sequence[str],
    fetch: Callable[[str], S],
    parse: Callable[[S], Feed],
    *,
    strict: bool = False,
    workers: int = 4,
) -> list[tuple[str, Feed]]:
    """Fetch every named feed (a few at a time), then parse them in order.

    A feed that cannot be fetched or read is a warning and is left out, unless
    ``strict`` is true or it is the only one: then its error is raised. When no feed
    at all can be read, that is an error too.
    """
    if not names:
        raise InputError("no feed to read")

    def attempt(name: str) -> S | InputError:
        try:
            return fetch(name)
        except InputError as exc:
            return exc

    if len(names) == 1 or workers <= 1:
        fetched = [attempt(name) for name in names]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(names))) as pool:
            fetched = list(pool.map(attempt, names))
    feeds: list[tuple[str, Feed]] = []
    for name, result in zip(names, fetched, strict=True):
        try:
            if isinstance(result, InputError):
                raise result
            feeds.append((name, parse(result)))
        except InputError as exc:
            if strict or len(names) == 1:
                raise
            log.warning("%s (skipped; the other feeds are still converted)", exc)
    if not feeds:
        raise InputError(f"none of the {len(names)} feeds could be read")
    return feeds


def global_id(entry: Entry) -> str | None:
    """The entry's id when it can identify the entry across feeds, else None."""
    return entry.id if ":" in entry.id else None


def _link_key(url: str) -> str:
    """A link compared without scheme (http = https), fragment or trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{path}{query}"


def dedupe_keys(entry: Entry) -> tuple[str, ...]:
    """The keys under which two entries count as the same post."""
    keys = []
    identity = global_id(entry)
    if identity:
        keys.append(f"id {identity}")
    if entry.link:
        keys.append(f"link {_link_key(entry.link)}")
    title = " ".join((entry.title or "").casefold().split())
    if title and entry.date is not None:
        keys.append(f"title {entry.date.timestamp()!r} {title}")
    return tuple(keys)


def _labels(parts: Sequence[tuple[str, Feed]]) -> list[str]:
    labels: list[str] = []
    taken: set[str] = set()
    for name, feed in parts:
        base = " ".join((feed.title or feed.home_page_url or name).split()) or name
        label, n = base, 2
        while label in taken:
            label = f"{base} ({n})"
            n += 1
        taken.add(label)
        labels.append(label)
    return labels


def _title(labels: Sequence[str]) -> str:
    if len(labels) <= 3:
        return ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"{', '.join(labels[:2])} and {len(labels) - 2} more feeds"


def _same(values: Sequence[object]) -> object | None:
    first = values[0]
    return first if all(v == first for v in values) else None


def merge_feeds(parts: Sequence[tuple[str, Feed]]) -> Feed:
    """One feed holding the entries of all ``parts`` (name, feed), duplicates dropped.

    A single feed is returned as it is.
    """
    if not parts:
        raise InputError("no feed to read")
    if len(parts) == 1:
        return parts[0][1]
    labels = _labels(parts)
    owner: dict[str, int] = {}  # dedupe key → index of the feed that has it
    entries: list[Entry] = []
    for index, ((name, feed), label) in enumerate(zip(parts, labels, strict=True)):
        for entry in feed.entries:
            keys = dedupe_keys(entry)
            earlier = next((owner[k] for k in keys if owner.get(k, index) != index), None)
            if earlier is not None:
                log.info(
                    "%s: item %r is also in %s; kept once",
                    name,
                    entry.title or entry.id,
                    labels[earlier],
                )
                continue
            for key in keys:
                owner.setdefault(key, index)
            entries.append(replace(entry, source=label))
    feeds = [feed for _, feed in parts]
    formats = list(dict.fromkeys(f.format for f in feeds if f.format))
    updated = [f.updated for f in feeds if f.updated]
    authors: tuple[Author, ...] = _same([f.authors for f in feeds]) or ()  # type: ignore[assignment]
    return Feed(
        title=_title(labels),
        format="+".join(formats) or None,
        home_page_url=_same([f.home_page_url for f in feeds]),  # type: ignore[arg-type]
        feed_url=None,
        description=None,
        language=_same([f.language for f in feeds]),  # type: ignore[arg-type]
        authors=authors,
        updated=max(updated) if updated else None,
        entries=tuple(entries),
    )
