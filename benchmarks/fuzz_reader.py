"""Mutation fuzzing of the readers and writers for a fixed time budget.

    python benchmarks/fuzz_reader.py --minutes 10 [--seed 1] [--crashes DIR]

Takes every feed under tests/ as seeds, mutates them (byte flips, insertions, deletions,
truncation, splices of XML/HTML/JSON tokens and of other seeds) and runs each mutant
through ``read_feed`` and the JSON Feed, Markdown and (for a sample) EPUB writers. The only
allowed failure is an ``InputError``; anything else is a crash, saved to ``--crashes`` with
its traceback. Prints the number of runs, outcomes and crashes at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from feedconv.errors import InputError  # noqa: E402
from feedconv.readers import read_feed  # noqa: E402
from feedconv.writers.epub import build_book  # noqa: E402
from feedconv.writers.jsonfeed import dump_feed  # noqa: E402
from feedconv.writers.markdown import render_document  # noqa: E402

TOKENS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&nbsp;",
    b"&#x0;",
    b"&#xD800;",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE rss [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>",
    b"&e;",
    b"<script>alert(1)</script>",
    b"<img src=x onerror=alert(1)>",
    b"javascript:",
    b'xml:base="../.."',
    b"</item>",
    b"<item>",
    b"<entry>",
    b"</entry>",
    b"<title>",
    b"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>",
    b"<description>",
    b"<pubDate>Mon, 99 Foo 9999 99:99:99 +9999</pubDate>",
    b'{"version":"https://jsonfeed.org/version/1.1","items":[{}]}',
    b"\x00",
    b"\xff",
    b"\xc3\x83\xc2\xa9",
    b"\xef\xbb\xbf",
    b"<?xml version='1.0' encoding='utf-16'?>",
    b"<div>" * 50,
    b"\r\n",
    b'"',
    b"'",
    b"{",
    b"[",
    b"}",
    b"]",
]


def seeds() -> list[bytes]:
    found = []
    for path in sorted((ROOT / "tests").rglob("*")):
        if path.suffix in (".xml", ".json") and not path.name.endswith(".expected.json"):
            data = path.read_bytes()
            if len(data) < 300_000:
                found.append(data)
    return found


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            out.extend(rng.choice(TOKENS))
            continue
        at = rng.randrange(len(out))
        kind = rng.random()
        if kind < 0.25:
            out[at] = rng.randrange(256)
        elif kind < 0.45:
            out[at:at] = rng.choice(TOKENS)
        elif kind < 0.6:
            del out[at : at + rng.randint(1, 64)]
        elif kind < 0.7:
            del out[at:]
        elif kind < 0.85:
            other = rng.choice(pool)
            start = rng.randrange(len(other)) if other else 0
            out[at:at] = other[start : start + rng.randint(1, 400)]
        else:
            end = min(len(out), at + rng.randint(1, 200))
            out[at:at] = out[at:end]
    return bytes(out)


def exercise(data: bytes, with_book: bool) -> str:
    try:
        feed = read_feed(data, url="https://example.org/feed.xml")
    except InputError:
        return "input error"
    dump_feed(feed)
    "".join(render_document(feed))
    if with_book and feed.entries:
        build_book(feed)
    return "feed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    parser.add_argument(
        "--book-every", type=int, default=50, help="build an EPUB every N runs (0: never)"
    )
    options = parser.parse_args()
    import logging

    logging.disable(logging.CRITICAL)  # warnings are expected on damaged input
    rng = random.Random(options.seed)
    pool = seeds()
    deadline = time.monotonic() + options.minutes * 60
    outcomes: Counter[str] = Counter()
    runs = 0
    while time.monotonic() < deadline:
        data = mutate(rng.choice(pool), rng, pool)
        runs += 1
        try:
            book = options.book_every > 0 and runs % options.book_every == 0
            outcomes[exercise(data, book)] += 1
        except Exception:
            outcomes["crash"] += 1
            options.crashes.mkdir(parents=True, exist_ok=True)
            (options.crashes / f"crash-{runs}.bin").write_bytes(data)
            (options.crashes / f"crash-{runs}.txt").write_text(traceback.format_exc())
    print(
        f"runs: {runs} in {options.minutes:g} min; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
    )
    return 1 if outcomes["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
