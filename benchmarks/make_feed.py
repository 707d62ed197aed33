"""Generate a large RSS 2.0 feed from the posts of the example feeds, deterministically.

    python benchmarks/make_feed.py --items 10000 -o feed-10k.xml

Bodies are the example posts (examples/openstack.xml and examples/field-notes.atom),
cycled with variations so that every item is unique: a numbered title, guid and link,
dates spread over ten years (newest first), half the bodies in content:encoded with a
plain description, half escaped in description. Like real blog posts, bodies also carry
blocks mixed in at random places: an intro with inline markup and a link (every post),
a code block, plain or highlighted with Pygments-style spans (30%), a table with a
caption (15%). The example posts' images are left out: no command may reach for the
network. About 8 KB per post.
Items are written one at a time, so memory stays flat for any size.
"""

from __future__ import annotations

import argparse
import html
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

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


SNIPPETS = [
    (
        "python",
        "def entries(path):\n"
        '    """Yield the (title, body) of every item."""\n'
        "    for item in etree.parse(path).iter('item'):\n"
        "        if item.findtext('title') is None:\n"
        "            continue\n"
        "        yield item.findtext('title'), item.findtext('description') or ''\n",
    ),
    (
        "console",
        "$ openstack zone create --email admin@example.com example.com.\n"
        "+--------+--------------+\n"
        "| Field  | Value        |\n"
        "+--------+--------------+\n"
        "| name   | example.com. |\n"
        "| status | PENDING      |\n"
        "+--------+--------------+\n"
        "$ openstack recordset list example.com. -f json | jq '.[] | .name'\n",
    ),
    (
        "c",
        "static int insert(struct rb_root *root, struct node *n)\n"
        "{\n"
        "        struct rb_node **link = &root->rb_node, *parent = NULL;\n"
        "        while (*link) {\n"
        "                parent = *link;\n"
        "                link = n->key < key_of(parent) ? &parent->left : &parent->right;\n"
        "        }\n"
        "        return 0; /* a < b && b > c */\n"
        "}\n",
    ),
]
KEYWORDS = frozenset(["def", "for", "if", "return", "while", "static", "int", "struct", "yield"])
CYCLES = ["Havana", "Icehouse", "Juno", "Kilo", "Liberty", "Mitaka", "Newton", "Ocata"]


def code_block(rng: random.Random) -> str:
    language, code = rng.choice(SNIPPETS)
    if rng.random() < 0.5:
        return f'<pre><code class="language-{language}">{html.escape(code)}</code></pre>'
    spans = []  # highlighted the way Pygments does it (Nikola, Sphinx)
    for token in _tokens(code):
        if token.isspace():
            spans.append(token)
        elif token.isidentifier():
            kind = "k" if token in KEYWORDS else "n"
            spans.append(f'<span class="{kind}">{token}</span>')
        else:
            spans.append(f'<span class="o">{html.escape(token)}</span>')
    return f'<pre class="code {language}">{"".join(spans)}</pre>'


def _tokens(code: str) -> list[str]:
    """Runs of spaces, runs of word characters, and single other characters."""
    tokens: list[str] = []
    for ch in code:
        kind = _kind(ch)
        if tokens and kind in ("space", "word") and _kind(tokens[-1]) == kind:
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens


def _kind(token: str) -> str:
    ch = token[0]
    return "space" if ch.isspace() else "word" if ch.isalnum() or ch == "_" else ch


def table_block(rng: random.Random) -> str:
    first = rng.randrange(4)
    rows = "".join(
        f"<tr><td>{cycle}</td><td>{rng.randint(40, 400)}</td><td>{rng.randint(2, 30)}</td>"
        f"<td>{rng.choice(['yes', 'no', '<em>partial</em>'])}</td></tr>"
        for cycle in CYCLES[first : first + rng.randint(3, 5)]
    )
    return (
        '<table class="docutils"><caption>Activity per cycle</caption>'
        "<thead><tr><th>Cycle</th><th>Commits</th><th>Contributors</th><th>Goal met</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def with_blocks(body: str, rng: random.Random, n: int) -> str:
    """``body`` without its images, with the extra blocks inserted between its top-level
    elements."""
    parts = []
    for part in lxml_html.fragments_fromstring(body):
        if isinstance(part, str):
            parts.append(part)
        elif part.tag != "img":
            for image in list(part.iter("img")):
                image.drop_tree()
            parts.append(etree.tostring(part, encoding="unicode", method="html"))
    extras = []
    if rng.random() < 0.30:
        extras.append(code_block(rng))
    if rng.random() < 0.15:
        extras.append(table_block(rng))
    for extra in extras:
        parts.insert(rng.randint(0, len(parts)), extra)
    return "\n".join(parts)


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
            intro = (
                f"<p>Post {n} of {options.items}: <em>{html.escape(title)}</em>, following"
                f' <a href="https://bench.example.org/posts/{(n * 7919) % 100003:06d}/">an'
                " earlier post</a>. See <code>designate-manage pool update</code>.</p>"
            )
            full = intro + with_blocks(body, rng, n)
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
