"""The ``--state`` file: what earlier runs converted, so the next run emits only new or
changed entries.

The file is a small JSON document, one record per converted entry::

    {"feedconv-state": 1, "items": {"<key>": {"hash": "<16 hex>", "seen": "2024-05-31"}}}

The key is the entry's id when it is globally unique (see :func:`feedconv.merge.global_id`),
else the id qualified by the feed's name. The hash covers what a reader sees change: the
title, link, dates, summary, body text and attachment URLs; it ignores markup, so a
cleaner or converter change in feedconv does not make every entry "changed".

Only the caller writes the file, and only after the output is safely written: a run that
fails anywhere before that leaves the file as it was, and the next run converts the same
entries again. Records of entries that left their feeds are forgotten after a year.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from feedconv.errors import InputError
from feedconv.merge import global_id
from feedconv.model import Entry
from feedconv.select import entry_text
from feedconv.writers._files import atomic_write

__all__ = ["State", "content_hash", "entry_key", "read_state", "write_state"]

FORMAT_KEY = "feedconv-state"
FORMAT_VERSION = 1
FORGET_AFTER = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Record:
    hash: str
    seen: date


def entry_key(entry: Entry, feed_name: str | None) -> str:
    """How the state file names an entry: its global id, else ``<feed> #<id>``."""
    identity = global_id(entry)
    if identity:
        return identity
    return f"{entry.source or feed_name or ''} #{entry.id}"


def content_hash(entry: Entry) -> str:
    """A short hash of what a reader would see change in the entry."""
    parts = [
        entry.title or "",
        entry.link or "",
        entry.published.isoformat() if entry.published else "",
        entry.updated.isoformat() if entry.updated else "",
        " ".join((entry.summary or "").split()),
        entry_text(entry),
        *(enclosure.url for enclosure in entry.enclosures),
    ]
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class State:
    """What earlier runs converted. Immutable: :meth:`after` returns the next state."""

    records: Mapping[str, Record] = field(default_factory=dict)

    def is_new_or_changed(self, entry: Entry, feed_name: str | None) -> bool:
        record = self.records.get(entry_key(entry, feed_name))
        return record is None or record.hash != content_hash(entry)

    def after(
        self,
        converted: Iterable[Entry],
        present: Iterable[Entry],
        feed_name: str | None,
        today: date,
    ) -> State:
        """The state once ``converted`` are written. ``present`` are all the entries the
        inputs held this run: their records stay fresh; others fade after a year."""
        records = dict(self.records)
        for entry in present:
            key = entry_key(entry, feed_name)
            if key in records:
                records[key] = Record(records[key].hash, today)
        for entry in converted:
            records[entry_key(entry, feed_name)] = Record(content_hash(entry), today)
        cutoff = today - FORGET_AFTER
        return State({k: r for k, r in records.items() if r.seen >= cutoff})

    def dumps(self) -> str:
        items = {
            key: {"hash": record.hash, "seen": record.seen.isoformat()}
            for key, record in sorted(self.records.items())
        }
        doc = {FORMAT_KEY: FORMAT_VERSION, "items": items}
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def read_state(path: Path) -> State:
    """Read the state file; a missing file is an empty state (the first run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State()
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"{path}: cannot read the state file ({detail})") from None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get(FORMAT_KEY) != FORMAT_VERSION:
            raise ValueError
        return State(_records(doc["items"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"{path}: not a feedconv state file (fix or remove it; removing it makes the"
            " next run convert everything again)"
        ) from None


def _records(items: Mapping[str, Mapping[str, str]]) -> dict[str, Record]:
    records = {}
    for key, value in items.items():
        if not isinstance(key, str) or not isinstance(value["hash"], str):
            raise ValueError
        records[key] = Record(value["hash"], date.fromisoformat(value["seen"]))
    return records


def write_state(path: Path, state: State) -> None:
    """Replace the state file atomically (temp file + rename)."""
    atomic_write(path, state.dumps().encode("utf-8"), force=True)
