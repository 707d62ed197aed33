"""Generate a large RSS 2.0 feed from the posts of the example feeds, deterministically.

    python benchmarks/make_feed.py --items 10000 -o feed-10k.xml

Bodies are the example posts (examples/openstack.xml and examples/field-notes.atom),
cycled with small variations so that every item is unique: a numbered title, guid and
link, dates spread over ten years (newest first), half the bodies in content:encoded
with a plain description, half escaped in description. Items are written one at a time,
so memory stays flat for any size.
"""

from __future__ import annotations

import argparse
import html
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
ATOM = "{http://www.w3.org/2005/Atom}"


def seed_bodies() -> list[tuple[str, str, list[str]]]:
    """(title, HTML body, categories) of every example post."""
    posts = []
    rss = etree.parse(str(ROOT / "examples" / "openstack.xml"))
    for item in rss.iter("item"):
        body = item.findtext("description") or ""
        tags = [c.text or "" for c in item.iter("category")]
        posts.append((item.findtext("title") or "", body, tags))
    atom = etree.parse(str(ROOT / "examples" / "field-notes.atom"))
    for entry in atom.iter(f"{ATOM}entry"):
        content = entry.find(f"{ATOM}content")
        if content is not None and content.get("type") == "html":
            tags = [c.get("term") or "" for c in entry.iter(f"{ATOM}category")]
            posts.append((entry.findtext(f"{ATOM}title") or "", content.text or "", tags))
    return posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    posts = seed_bodies()
    start = datetime(2024, 6, 30, 18, 0, tzinfo=UTC)
    step = timedelta(days=3650) / max(options.items, 1)
    with options.output.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
            f"<title>Benchmark feed ({options.items} posts)</title>\n"
            "<link>https://bench.example.org/</link>\n"
            "<description>Generated for feedconv's benchmark</description>\n"
            "<language>en</language>\n"
        )
        for n in range(options.items):
            title, body, tags = posts[n % len(posts)]
            when = start - step * n - timedelta(minutes=rng.randrange(600))
            link = f"https://bench.example.org/posts/{n:06d}/"
            intro = f"<p>Post {n} of {options.items}: <em>{html.escape(title)}</em>.</p>"
            full = intro + body
            out.write("<item>\n")
            out.write(f"<title>{html.escape(title)} #{n}</title>\n<link>{link}</link>\n")
            out.write(f'<guid isPermaLink="true">{link}</guid>\n')
            out.write(f"<pubDate>{format_datetime(when)}</pubDate>\n")
            out.write(f"<dc:creator>Author {n % 7}</dc:creator>\n")
            for tag in tags[: rng.randrange(len(tags) + 1)]:
                out.write(f"<category>{html.escape(tag)}</category>\n")
            if n % 2:
                out.write(f"<description>{html.escape(title)}</description>\n")
                out.write(f"<content:encoded><![CDATA[{full}]]></content:encoded>\n")
            else:
                out.write(f"<description>{html.escape(full)}</description>\n")
            out.write("</item>\n")
        out.write("</channel>\n</rss>\n")


if __name__ == "__main__":
    main()
