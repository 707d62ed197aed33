"""Several feeds at once: merge, de-duplication across RSS/Atom/JSON, OPML, failing sources."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedconv.cli import ExitCode, cli
from feedconv.errors import InputError
from feedconv.merge import dedupe_keys, gather, merge_feeds
from feedconv.model import Entry, Feed
from feedconv.readers import read_feed
from feedconv.readers.opml import read_opml

DATA = Path(__file__).resolve().parent / "data" / "merge"
RSS, ATOM, NOTES, OTHER = (DATA / n for n in ("blog.rss", "blog.atom", "notes.json", "other.json"))
OPML = DATA / "subscriptions.opml"


def invoke(*args: str, input: bytes | str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, prog_name="feedconv")


def items(stdout: str) -> list[dict]:
    return json.loads(stdout)["items"]


def read(path: Path) -> Feed:
    return read_feed(path.read_bytes())


# --- merge_feeds ---------------------------------------------------------------------------


def test_merge_across_rss_atom_and_json_keeps_each_post_once():
    merged = merge_feeds([(str(p), read(p)) for p in (RSS, ATOM, NOTES, OTHER)])
    titles = [e.title for e in merged.entries]
    # Alpha: same id; Bravo: same link (http/https, trailing slash); Charlie: same title
    # (any case) and instant (+01:00 vs Z); Hotel shares only the short id "1" with Foxtrot.
    assert titles == [
        "Alpha",
        "Bravo",
        "Notes from the Field",
        "Delta",
        "Echo",
        "Foxtrot",
        "Golf",
        "Hotel",
    ]
    sources = {e.title: e.source for e in merged.entries}
    assert sources["Alpha"] == "Harbour Blog"  # the first feed that has it keeps it
    assert sources["Echo"] == "Harbour Blog (Atom)"
    assert sources["Foxtrot"] == "Field Notes"
    assert sources["Hotel"] == "Other Notes"
    assert merged.title == "Harbour Blog, Harbour Blog (Atom) and 2 more feeds"
    assert merged.format == "rss2.0+atom1.0+json1.1"


def test_merge_of_one_feed_returns_it_unchanged():
    feed = read(RSS)
    assert merge_feeds([("x", feed)]) is feed
    assert all(e.source is None for e in feed.entries)


def test_repeats_within_one_feed_are_kept():
    one = Entry(id="https://x.example/1", title="Same")
    feed = Feed(title="F", entries=(one, one))
    other = Feed(title="G", entries=(Entry(id="https://x.example/2"),))
    merged = merge_feeds([("f", feed), ("g", other)])
    assert [e.id for e in merged.entries] == ["https://x.example/1"] * 2 + ["https://x.example/2"]


def test_sources_with_the_same_title_are_told_apart():
    a = Feed(title="Blog", entries=(Entry(id="1"),))
    b = Feed(title="Blog", entries=(Entry(id="1"),))
    merged = merge_feeds([("a", a), ("b", b)])
    assert [e.source for e in merged.entries] == ["Blog", "Blog (2)"]
    assert merged.title == "Blog and Blog (2)"


def test_dedupe_keys():
    entry = Entry(id="b-123", title=" Bravo  Post", link="HTTPS://Blog.Example.org/b/#top")
    assert dedupe_keys(entry) == ("link blog.example.org/b",)  # short id, no date: no keys


# --- gather ----------------------------------------------------------------------------------


def fetch(name: str) -> bytes:
    if name.startswith("bad"):
        raise InputError(f"{name}: no such file")
    return Path(name).read_bytes()


def test_a_failing_source_is_a_warning_and_the_rest_is_read(caplog):
    logger = logging.getLogger("feedconv")
    logger.addHandler(caplog.handler)
    try:
        parts = gather([str(RSS), "bad.xml", str(NOTES)], fetch, read_feed)
    finally:
        logger.removeHandler(caplog.handler)
    assert [name for name, _ in parts] == [str(RSS), str(NOTES)]
    assert "bad.xml: no such file (skipped" in caplog.text


def test_strict_makes_a_failing_source_fatal():
    with pytest.raises(InputError, match=r"bad\.xml: no such file"):
        gather([str(RSS), "bad.xml"], fetch, read_feed, strict=True)


def test_when_no_source_can_be_read_it_is_an_error():
    with pytest.raises(InputError, match="none of the 2 feeds could be read"):
        gather(["bad1", "bad2"], fetch, read_feed)


# --- OPML ----------------------------------------------------------------------------------


def test_opml_lists_nested_subscriptions_resolved_against_its_location():
    subs = read_opml(OPML.read_bytes(), OPML.as_uri())
    assert [s.url for s in subs] == [RSS.as_uri(), ATOM.as_uri(), NOTES.as_uri()]
    assert [s.title for s in subs] == ["Harbour Blog", "Harbour Blog (Atom)", "Notes"]


def test_remote_opml_may_not_name_local_files(caplog):
    doc = b"""<opml version="2.0"><body>
    <outline xmlUrl="file:///etc/passwd"/><outline xmlUrl="feed.xml"/>
    <outline xmlUrl="ftp://example.org/f.xml"/></body></opml>"""
    logger = logging.getLogger("feedconv")
    logger.addHandler(caplog.handler)
    try:
        subs = read_opml(doc, "https://example.org/lists/subs.opml")
    finally:
        logger.removeHandler(caplog.handler)
    assert [s.url for s in subs] == ["https://example.org/lists/feed.xml"]
    assert "'file:///etc/passwd' skipped: 'file' URLs are not allowed" in caplog.text
    assert "'ftp' URLs are not allowed" in caplog.text


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"<opml><body><outline text='folder'/></body></opml>", "no feed subscriptions"),
        (b"<rss version='2.0'><channel/></rss>", "not an OPML subscription list"),
    ],
)
def test_opml_that_lists_nothing_is_an_error(doc, message):
    with pytest.raises(InputError, match=message):
        read_opml(doc)


def test_opml_entities_are_not_resolved():
    doc = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/hostname">]>
    <opml><body><outline xmlUrl="https://example.org/&x;.xml"/></body></opml>"""
    subs = read_opml(doc)
    assert len(subs) == 1 and "/etc" not in subs[0].url


# --- the command line ----------------------------------------------------------------------


def test_cli_merges_feeds_given_as_arguments():
    result = invoke("to-json", str(RSS), str(ATOM), str(NOTES))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert [i["title"] for i in items(result.stdout)] == [
        "Alpha",
        "Bravo",
        "Notes from the Field",
        "Delta",
        "Echo",
        "Foxtrot",
        "Golf",
    ]


def test_cli_reads_an_opml_file_like_the_same_feeds_as_arguments():
    by_opml = invoke("to-json", "--opml", str(OPML))
    by_args = invoke("to-json", str(RSS), str(ATOM), str(NOTES))
    assert by_opml.exit_code == 0, by_opml.stderr
    assert items(by_opml.stdout) == items(by_args.stdout)


def test_cli_opml_from_stdin_with_absolute_urls():
    doc = f'<opml version="2.0"><body><outline xmlUrl="{ATOM.as_uri()}"/></body></opml>'
    result = invoke("to-json", "--opml", "-", str(RSS), input=doc)
    assert result.exit_code == 0, result.stderr
    assert [i["title"] for i in items(result.stdout)] == [
        "Alpha",
        "Bravo",
        "Notes from the Field",
        "Delta",
        "Echo",
    ]


def test_cli_failing_source_warns_and_builds_the_rest(tmp_path):
    missing = tmp_path / "gone.xml"
    out = tmp_path / "digest.md"
    result = invoke("to-md", str(RSS), str(missing), str(NOTES), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.strip() == (
        f"feedconv: warning: {missing}: no such file (skipped; the other feeds are still converted)"
    )
    text = out.read_text(encoding="utf-8")
    assert "# Delta\n" in text and "# Foxtrot\n" in text


def test_cli_strict_stops_at_a_failing_source_and_writes_nothing(tmp_path):
    out = tmp_path / "digest.md"
    result = invoke("to-md", str(RSS), str(tmp_path / "gone.xml"), "--strict", "-o", str(out))
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stderr.startswith("feedconv: error: ") and "gone.xml: no such file" in (
        result.stderr
    )
    assert not out.exists()


def test_cli_needs_a_feed_or_an_opml_file():
    result = invoke("to-md")
    assert result.exit_code == ExitCode.USAGE
    assert "Missing argument 'FEED...'" in result.stderr


def test_cli_merged_markdown_is_one_stream():
    result = invoke("to-md", str(RSS), str(ATOM), "--order", "newest")
    assert result.exit_code == 0, result.stderr
    headings = [line.lstrip("#").strip() for line in result.stdout.splitlines() if line[:1] == "#"]
    assert headings == [
        "Harbour Blog and Harbour Blog (Atom)",
        "Echo",
        "Delta",
        "Notes from the Field",
        "Bravo",
        "Alpha",
    ]


def test_cli_merged_book_is_valid(tmp_path, epubcheck):
    book = tmp_path / "digest.epub"
    result = invoke("to-epub", "--opml", str(OPML), str(OTHER), "-o", str(book))
    assert result.exit_code == 0, result.stderr
    assert epubcheck(book) == ([], [])
