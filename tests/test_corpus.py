"""Every real feed in tests/corpus/ converts with every command, and finds all items."""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from lxml import etree

from checks import assert_inert
from feedconv.cli import cli

CORPUS = Path(__file__).resolve().parent / "corpus"
FEEDS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".xml", ".json"))


def expected_counts() -> dict[str, int]:
    """Item counts from the corpus description (SOURCES.md), one row per file."""
    counts = {}
    for line in (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 6 and cells[1].isdigit():
            name = cells[2].strip("`")
            counts[name] = int(re.match(r"\d+", cells[5]).group())  # type: ignore[union-attr]
    return counts


COUNTS = expected_counts()


def test_corpus_is_complete():
    assert len(FEEDS) == 50
    assert set(COUNTS) == {p.name for p in FEEDS}


@pytest.mark.parametrize("feed", FEEDS, ids=lambda p: p.name)
def test_to_json_finds_every_item(feed):
    result = CliRunner().invoke(cli, ["to-json", str(feed)])
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    items = json.loads(result.stdout)["items"]
    assert len(items) == COUNTS[feed.name]
    ids = [item["id"] for item in items]
    assert all(ids)
    for item in items:
        assert_inert(item.get("content_html", ""))


@pytest.mark.parametrize("feed", FEEDS, ids=lambda p: p.name)
def test_to_md_split_writes_every_post(feed, tmp_path):
    out = tmp_path / "posts"
    result = CliRunner().invoke(cli, ["to-md", str(feed), "--split", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    files = list(out.iterdir())
    assert len(files) == COUNTS[feed.name]
    for path in files:
        assert path.read_text(encoding="utf-8").startswith("---\n")
    document = CliRunner().invoke(cli, ["to-md", str(feed)])
    assert document.exit_code == 0, document.stderr
    assert document.stdout.startswith("# ")


def test_every_corpus_feed_makes_a_valid_book(epubcheck):
    """Images unreachable: every request outside 127.0.0.1 fails (see conftest.py), so
    every image becomes a link with a warning, and the book is still valid."""
    books = {}
    warned = 0
    for feed in FEEDS:
        result = CliRunner().invoke(cli, ["to-epub", str(feed), "-o", "-"])
        assert result.exit_code == 0, (feed.name, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stdout_bytes.startswith(b"PK")
        warned += result.stderr.count("not embedded")
        books[feed.stem] = result.stdout_bytes
    assert warned > 100  # the corpus shows many images, none of them reachable here
    for name, book in books.items():
        assert _remote_sources(book) == [], name
    reports = epubcheck.many(books)
    failures = {name: report for name, report in reports.items() if report != ([], [])}
    assert failures == {}


def _remote_sources(book: bytes) -> list[str]:
    """Every src in the book's documents that does not name a file of the book."""
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        names = set(z.namelist())
        found = []
        for name in names:
            if name.endswith(".xhtml"):
                root = etree.fromstring(z.read(name))
                for src in root.xpath("//@src"):
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), src))
                    if target not in names:
                        found.append(f"{name}: {src}")
    return found


_IMAGE_ATTRIBUTES = ("src", "data-src", "data-lazy-src", "data-original")


def _served(html: str, base: str) -> str:
    """The post with every image URL pointing at the local image server instead."""

    def local(url: str) -> str:
        if not url.startswith(("http://", "https://")):
            return url
        return f"{base}/any/{hashlib.sha256(url.encode()).hexdigest()[:16]}"

    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter("img", "source"):
        for name in _IMAGE_ATTRIBUTES:
            if element.get(name):
                element.set(name, local(element.get(name)))
        for name in ("srcset", "data-srcset"):
            if element.get(name):
                parts = [p.strip().split(None, 1) for p in element.get(name).split(",")]
                rewritten = [" ".join([local(p[0]), *p[1:]]) for p in parts if p]
                element.set(name, ", ".join(rewritten))
    return (
        "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
        if len(root)
        else html
    )


def test_every_corpus_feed_makes_a_valid_book_with_its_images(epubcheck):
    """Images reachable: the feeds' image URLs are rewritten to a server on 127.0.0.1
    that answers each with a PNG, JPEG, WebP, GIF or script-carrying SVG."""
    from feedconv.readers import read_feed
    from feedconv.writers.epub import BookOptions, build_book
    from imageserver import serving

    books = {}
    embedded = 0
    with serving() as base:
        for path in FEEDS:
            feed = read_feed(path.read_bytes(), None)
            entries = tuple(
                replace(e, content_html=_served(e.content_html, base)) if e.content_html else e
                for e in feed.entries
            )
            book = build_book(replace(feed, entries=entries), BookOptions(images="embed"))
            with zipfile.ZipFile(io.BytesIO(book)) as z:
                embedded += sum(
                    1 for n in z.namelist() if n.startswith("EPUB/images/") and "cover" not in n
                )
            assert _remote_sources(book) == [], path.name
            books[path.stem] = book
    assert embedded > 100
    reports = epubcheck.many(books)
    failures = {name: report for name, report in reports.items() if report != ([], [])}
    assert failures == {}
