"""Streamed and parallel output is byte-identical to the simple, whole-feed path."""

from __future__ import annotations

import functools
import io
import logging
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import feedconv.readers
from feedconv import parallel
from feedconv.cli import cli
from feedconv.parallel import ordered_map
from feedconv.readers import read_feed
from feedconv.readers.stream import stream_feed

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FEEDS = sorted(
    p
    for p in [*TESTS.glob("corpus/*"), *TESTS.glob("data/feeds/*/*"), *TESTS.glob("data/hostile/*")]
    if p.suffix in (".xml", ".json", ".bin", ".html") and not p.name.endswith(".expected.json")
)


def whole(path: Path):
    try:
        return read_feed(path.read_bytes())
    except Exception as exc:  # compared by type with the streamed outcome
        return type(exc)


def streamed(path: Path):
    try:
        head, entries = stream_feed(path)
        return replace(head, entries=tuple(entries))
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_streamed_read_equals_whole_read(path: Path) -> None:
    assert streamed(path) == whole(path)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def pooled(path: Path, jobs: int = 2):
    try:
        head, entries = stream_feed(path, mapper=functools.partial(ordered_map, jobs=jobs))
        return replace(head, entries=tuple(entries))
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_items_read_apart_equal_the_streamed_read(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each item serialized, parsed again and read on its own (what a worker of the
    pool does; feeds this small use no pool) gives the same entries and the same
    warnings, in the same order, as reading it in place."""
    with caplog.at_level(logging.WARNING):
        expected = streamed(path)
    expected_warnings = _warnings(caplog)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert pooled(path) == expected
    assert _warnings(caplog) == expected_warnings


def _atom_with_bases(folder: Path, count: int = 40) -> Path:
    """Entries whose links and images resolve against xml:base on the feed and on
    some entries (relative to the feed's), so a worker needs the inherited base."""
    entries = []
    for n in range(count):
        own = f' xml:base="posts/{n}/"' if n % 3 == 0 else ""
        entries.append(
            f"<entry{own}><title>Post {n}</title><id>urn:post:{n}</id>"
            f'<link href="p{n}.html"/><updated>2024-01-{n % 28 + 1:02d}T00:00:00Z</updated>'
            f'<content type="html">&lt;p&gt;See &lt;a href="../a{n}"&gt;this&lt;/a&gt; '
            f'&lt;img src="i{n}.png" alt="i"&gt;&lt;/p&gt;</content></entry>'
        )
    path = folder / "bases.atom"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.org/blog/">'
        "<title>Bases</title><id>urn:feed</id>" + "".join(entries) + "</feed>",
        encoding="utf-8",
    )
    return path


def test_pool_reading_resolves_against_inherited_xml_base(tmp_path: Path) -> None:
    path = _atom_with_bases(tmp_path)
    result = pooled(path)
    assert result == streamed(path) == whole(path)
    assert result.entries[0].link == "https://example.org/blog/posts/0/p0.html"
    assert 'href="https://example.org/blog/posts/a0"' in (result.entries[0].content_html or "")
    assert result.entries[1].link == "https://example.org/blog/p1.html"


def _twice_escaped_every_fifth(folder: Path, count: int = 40) -> Path:
    items = []
    for n in range(count):
        body = "&amp;lt;p&amp;gt;raw&amp;lt;/p&amp;gt;" if n % 5 == 0 else f"&lt;p&gt;{n}&lt;/p&gt;"
        items.append(
            f"<item><title>Item {n}</title><guid>g{n}</guid>"
            f"<description>{body}</description></item>"
        )
    path = folder / "warned.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>W</title>'
        + "".join(items)
        + "</channel></rss>",
        encoding="utf-8",
    )
    return path


def test_to_json_in_a_pool_is_byte_identical_with_the_same_warnings(tmp_path: Path) -> None:
    path = _twice_escaped_every_fifth(tmp_path)
    runner = CliRunner()
    runs = {}
    for label, args, given in (
        ("one", [str(path), "-j", "1"], None),
        ("two", [str(path), "-j", "2"], None),
        ("stdin", ["-", "-j", "2"], path.read_bytes()),
    ):
        for lines in ([], ["--lines"]):
            result = runner.invoke(cli, ["to-json", *lines, *args], input=given)
            assert result.exit_code == 0, result.stderr
            runs[label, bool(lines)] = (result.stdout, result.stderr)
    for lines in (False, True):
        assert runs["one", lines] == runs["two", lines] == runs["stdin", lines]
    warned = runs["two", False][1].splitlines()
    assert [line.split("'")[1] for line in warned] == [f"Item {n}" for n in range(0, 40, 5)]


def test_pool_reading_falls_back_without_repeats(big_feed: Path, tmp_path: Path) -> None:
    """Double-encoded UTF-8 late in the file sends the streamed read back to the whole
    file with its repairs, while the pool holds items read ahead: none is lost or
    delivered twice."""
    data = big_feed.read_bytes()
    at = data.index(b"</item>", len(data) * 3 // 4) + len(b"</item>")
    damaged = tmp_path / "late-damage.xml"
    late_item = "<item><title>caf\u00c3\u00a9</title><guid>late</guid></item>".encode()
    damaged.write_bytes(data[:at] + late_item + data[at:])
    result = pooled(damaged)
    assert result == whole(damaged)
    ids = [e.id for e in result.entries]
    assert len(ids) == len(set(ids)) == 121
    assert "café" in [e.title for e in result.entries]


@pytest.fixture(scope="module")
def big_feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "feed-120.xml"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "make_feed.py"),
            "--items",
            "120",
            "-o",
            str(path),
        ],
        check=True,
    )
    return path


def test_damage_after_the_first_items_falls_back_without_repeats(big_feed: Path, tmp_path: Path):
    data = big_feed.read_bytes()
    cut = tmp_path / "truncated.xml"
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = streamed(cut)
    assert result == whole(cut)
    ids = [e.id for e in result.entries]
    assert len(ids) == len(set(ids)) > 50


def test_streamed_to_json_equals_whole_feed_output(big_feed: Path) -> None:
    runner = CliRunner()
    from_file = runner.invoke(cli, ["to-json", str(big_feed)])  # streamed
    from_stdin = runner.invoke(cli, ["to-json", "-"], input=big_feed.read_bytes())  # whole
    assert from_file.exit_code == from_stdin.exit_code == 0
    assert from_file.stdout == from_stdin.stdout
    lines = runner.invoke(cli, ["to-json", "--lines", str(big_feed)])
    assert len(lines.stdout.splitlines()) == 120


def test_streamed_book_equals_whole_feed_book(big_feed: Path, monkeypatch) -> None:
    runner = CliRunner()
    args = ["-o", "-", "-j", "1", "--images", "link"]
    whole_feed = runner.invoke(cli, ["to-epub", "-", *args], input=big_feed.read_bytes())
    assert whole_feed.exit_code == 0, whole_feed.stderr

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a single feed file was read whole")

    monkeypatch.setattr(feedconv.readers, "read_feed", refuse)
    from_file = runner.invoke(cli, ["to-epub", str(big_feed), *args])  # streamed
    assert from_file.exit_code == 0, from_file.stderr
    assert from_file.stdout_bytes == whole_feed.stdout_bytes
    with zipfile.ZipFile(io.BytesIO(from_file.stdout_bytes)) as book:
        assert sum("/text/p0" in name for name in book.namelist()) == 120


@pytest.mark.parametrize("jobs", ["2", "4"])  # 4: the posts are read in the pool too
def test_parallel_markdown_document_is_byte_identical(big_feed: Path, jobs: str) -> None:
    runner = CliRunner()
    one = runner.invoke(cli, ["to-md", str(big_feed), "--jobs", "1"])
    two = runner.invoke(cli, ["to-md", str(big_feed), "--jobs", jobs])
    whole_feed = runner.invoke(cli, ["to-md", "-", "--jobs", "1"], input=big_feed.read_bytes())
    assert one.exit_code == two.exit_code == whole_feed.exit_code == 0, two.stderr
    assert one.stdout == two.stdout == whole_feed.stdout
    assert one.stdout.count("\n# ") == 120


def test_parallel_split_is_byte_identical(big_feed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    trees = []
    for jobs in ("1", "2", "4"):
        folder = tmp_path / f"jobs-{jobs}"
        result = runner.invoke(cli, ["to-md", str(big_feed), "--split", str(folder), "-j", jobs])
        assert result.exit_code == 0, result.stderr
        trees.append({p.name: p.read_bytes() for p in folder.iterdir()})
    assert trees[0] == trees[1] == trees[2]
    assert len(trees[0]) == 120


def _footnoted_feed(folder: Path) -> Path:
    """40 dated posts, each with one footnote and a link to the next post."""
    items = "".join(
        f"<item><title>Post {n}</title><link>https://example.org/{n}</link>"
        f"<pubDate>Mon, {1 + n % 28:02d} Jan 2024 10:00:00 +0000</pubDate>"
        f"<description><![CDATA[<p>Claim{n}<sup id='r{n}'><a href='#f{n}' role='doc-noteref'>1</a>"
        f"</sup> and <a href='https://example.org/{(n + 1) % 40}'>the next post</a>.</p>"
        f"<aside id='f{n}' role='doc-footnote'><p>Note {n}.</p></aside>]]>"
        "</description></item>"
        for n in range(40)
    )
    feed = folder / "notes.xml"
    feed.write_text(f'<rss version="2.0"><channel><title>N</title>{items}</channel></rss>')
    return feed


def test_footnotes_keep_counting_across_parallel_sections(tmp_path: Path) -> None:
    feed = _footnoted_feed(tmp_path)
    runner = CliRunner()
    one = runner.invoke(cli, ["to-md", str(feed), "-j", "1"])
    two = runner.invoke(cli, ["to-md", str(feed), "-j", "2"])
    four = runner.invoke(cli, ["to-md", str(feed), "-j", "4"])
    assert one.stdout == two.stdout == four.stdout
    assert "[^40]" in two.stdout


def test_parallel_book_is_byte_identical_and_valid(tmp_path: Path, epubcheck) -> None:
    feed = _footnoted_feed(tmp_path)
    books = []
    for jobs in ("1", "2", "4"):
        out = tmp_path / f"jobs-{jobs}.epub"
        result = CliRunner().invoke(cli, ["to-epub", str(feed), "-o", str(out), "-j", jobs])
        assert result.exit_code == 0, result.stderr
        books.append(out.read_bytes())
    assert books[0] == books[1] == books[2]
    with zipfile.ZipFile(tmp_path / "jobs-2.epub") as book:
        chapters = "".join(
            book.read(name).decode() for name in book.namelist() if "/text/p0" in name
        )
    assert chapters.count('epub:type="footnote"') == 40
    assert epubcheck(books[1]) == ([], [])


def _square(n: int) -> int:
    return n * n


@pytest.mark.parametrize("count", [0, 5, 100])
def test_ordered_map_keeps_order(count: int) -> None:
    assert list(ordered_map(_square, range(count), jobs=2, chunk=3)) == [
        n * n for n in range(count)
    ]


def test_a_map_inside_a_map_shares_one_pool(monkeypatch) -> None:
    """A map over what another map yields (posts converted while a pool reads them)
    runs in the same pool: one pool is started, both maps keep their order, and the
    pool is gone once both are done."""
    started = []
    real = parallel._Pool.__init__

    def counting(self, jobs, func):
        started.append(func)
        real(self, jobs, func)

    monkeypatch.setattr(parallel._Pool, "__init__", counting)
    inner = ordered_map(_square, range(200), jobs=2, chunk=7)
    outer = list(ordered_map(_negate, inner, jobs=2, chunk=5))
    assert outer == [-(n * n) for n in range(200)]
    assert started == [_square]
    assert parallel._SHARED is None


def _negate(n: int) -> int:
    return -n


def test_a_shared_pool_outlives_the_map_that_started_it() -> None:
    inner = ordered_map(_square, range(100), jobs=2)
    outer = ordered_map(_negate, inner, jobs=2)
    first = next(outer)
    assert first == 0 and parallel._SHARED is not None and parallel._SHARED.users == 2
    rest = list(outer)  # the inner map ends first; the outer one still needs the pool
    assert rest[-1] == -(99 * 99)
    assert parallel._SHARED is None
