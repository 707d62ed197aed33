"""Every real feed in tests/corpus/ converts with every command, and finds all items."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

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
    books = {}
    for feed in FEEDS:
        result = CliRunner().invoke(cli, ["to-epub", str(feed), "-o", "-"])
        assert result.exit_code == 0, (feed.name, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stdout_bytes.startswith(b"PK")
        books[feed.stem] = result.stdout_bytes
    reports = epubcheck.many(books)
    failures = {name: report for name, report in reports.items() if report != ([], [])}
    assert failures == {}
