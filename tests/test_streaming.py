"""Streamed and parallel output is byte-identical to the simple, whole-feed path."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import feedconv.readers
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


def test_parallel_markdown_document_is_byte_identical(big_feed: Path) -> None:
    runner = CliRunner()
    one = runner.invoke(cli, ["to-md", str(big_feed), "--jobs", "1"])
    two = runner.invoke(cli, ["to-md", str(big_feed), "--jobs", "2"])
    whole_feed = runner.invoke(cli, ["to-md", "-", "--jobs", "1"], input=big_feed.read_bytes())
    assert one.exit_code == two.exit_code == whole_feed.exit_code == 0, two.stderr
    assert one.stdout == two.stdout == whole_feed.stdout
    assert one.stdout.count("\n# ") == 120


def test_parallel_split_is_byte_identical(big_feed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    trees = []
    for jobs in ("1", "2"):
        folder = tmp_path / f"jobs-{jobs}"
        result = runner.invoke(cli, ["to-md", str(big_feed), "--split", str(folder), "-j", jobs])
        assert result.exit_code == 0, result.stderr
        trees.append({p.name: p.read_bytes() for p in folder.iterdir()})
    assert trees[0] == trees[1]
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
    assert one.stdout == two.stdout
    assert "[^40]" in two.stdout


def test_parallel_book_is_byte_identical_and_valid(tmp_path: Path, epubcheck) -> None:
    feed = _footnoted_feed(tmp_path)
    books = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs-{jobs}.epub"
        result = CliRunner().invoke(cli, ["to-epub", str(feed), "-o", str(out), "-j", jobs])
        assert result.exit_code == 0, result.stderr
        books.append(out.read_bytes())
    assert books[0] == books[1]
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
