"""Incremental runs with --state: only new or changed items, and a failed run loses nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedconv.cli import ExitCode, cli
from feedconv.model import Entry
from feedconv.state import State, content_hash, entry_key, read_state, write_state

Post = tuple[str, str, str]  # (guid, title, body)


def rss(*posts: Post) -> str:
    items = "".join(
        f"<item><guid>https://harbour.example/{guid}</guid><title>{title}</title>"
        f"<link>https://harbour.example/{guid}</link>"
        f"<pubDate>Mon, 0{n + 1} Jan 2024 09:00:00 +0000</pubDate>"
        f"<description>&lt;p&gt;{body}&lt;/p&gt;</description></item>"
        for n, (guid, title, body) in enumerate(posts)
    )
    return f'<rss version="2.0"><channel><title>Harbour</title>{items}</channel></rss>'


A = ("a", "Alpha", "The first post.")
B = ("b", "Bravo", "The second post.")
B2 = ("b", "Bravo", "The second post, corrected.")
C = ("c", "Charlie", "The third post.")
D = ("d", "Delta", "The fourth post.")


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, prog_name="feedconv")


TITLES = {"Alpha", "Bravo", "Charlie", "Delta"}


def sections(path: Path) -> list[str]:
    """The post headings of a Markdown document (whatever their level)."""
    headings = [line.lstrip("#").strip() for line in path.read_text().splitlines()]
    return [f"## {h}" for h in headings if h in TITLES]


def test_three_runs_new_items_then_a_changed_item_then_nothing_new(tmp_path):
    state = tmp_path / "seen.json"
    feed = tmp_path / "feed.xml"

    feed.write_text(rss(A, B))
    first = invoke("to-md", str(feed), "--state", str(state), "-o", str(tmp_path / "1.md"))
    assert first.exit_code == 0, first.stderr
    assert first.stderr == ""
    assert sections(tmp_path / "1.md") == ["## Alpha", "## Bravo"]
    remembered = json.loads(state.read_text())
    assert remembered["feedconv-state"] == 1
    assert sorted(remembered["items"]) == ["https://harbour.example/a", "https://harbour.example/b"]

    feed.write_text(rss(A, B2, C))  # Bravo edited, Charlie new
    second = invoke("to-md", str(feed), "--state", str(state), "-o", str(tmp_path / "2.md"))
    assert second.exit_code == 0, second.stderr
    assert sections(tmp_path / "2.md") == ["## Bravo", "## Charlie"]
    assert "corrected" in (tmp_path / "2.md").read_text()

    before = state.read_bytes()
    third = invoke("to-md", str(feed), "--state", str(state), "-o", str(tmp_path / "3.md"))
    assert third.exit_code == 0, third.stderr
    assert third.stderr == "feedconv: nothing new since the last run; nothing written\n"
    assert third.stdout == ""
    assert not (tmp_path / "3.md").exists()
    assert state.read_bytes() == before


def test_a_run_that_fails_half_way_loses_nothing(tmp_path):
    state = tmp_path / "seen.json"
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(A))
    assert (
        invoke("to-md", str(feed), "--state", str(state), "-o", str(tmp_path / "1.md")).exit_code
        == 0
    )
    before = state.read_bytes()

    feed.write_text(rss(A, C, D))
    # The feeds are read and selected, then writing the output fails: no state update.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where a folder should be")
    failed = invoke("to-md", str(feed), "--state", str(state), "-o", str(blocked / "2.md"))
    assert failed.exit_code == ExitCode.OUTPUT_REFUSED
    assert failed.stderr.startswith("feedconv: error: ")
    assert state.read_bytes() == before

    # A second feed that cannot be read with --strict: fatal before any output.
    strict = invoke(
        "to-md", str(feed), str(tmp_path / "gone.xml"), "--strict", "--state", str(state)
    )
    assert strict.exit_code == ExitCode.INPUT_ERROR
    assert strict.stdout == ""
    assert state.read_bytes() == before

    again = invoke("to-md", str(feed), "--state", str(state), "-o", str(tmp_path / "2.md"))
    assert again.exit_code == 0, again.stderr
    assert sections(tmp_path / "2.md") == ["## Charlie", "## Delta"]


def test_nothing_new_writes_no_empty_book(tmp_path):
    state = tmp_path / "seen.json"
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(A, B))
    book = tmp_path / "1.epub"
    assert invoke("to-epub", str(feed), "--state", str(state), "-o", str(book)).exit_code == 0
    assert book.stat().st_size > 0
    again = invoke("to-epub", str(feed), "--state", str(state), "-o", str(tmp_path / "2.epub"))
    assert again.exit_code == 0
    assert "nothing new" in again.stderr
    assert not (tmp_path / "2.epub").exists()
    quiet = invoke(
        "to-epub", str(feed), "-q", "--state", str(state), "-o", str(tmp_path / "3.epub")
    )
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_state_with_json_lines_to_stdout_then_nothing_at_all(tmp_path):
    state = tmp_path / "seen.json"
    text = rss(A, B, C)
    first = invoke("to-json", "-", "--lines", "--state", str(state), input=text)
    assert [json.loads(line)["title"] for line in first.stdout.splitlines()] == [
        "Alpha",
        "Bravo",
        "Charlie",
    ]
    second = invoke("to-json", "-", "--lines", "--state", str(state), input=text)
    assert second.exit_code == 0 and second.stdout == ""


def test_limit_takes_the_first_new_items_and_leaves_the_rest_for_next_time(tmp_path):
    state = tmp_path / "seen.json"
    text = rss(A, B, C, D)
    args = ["to-json", "-", "--lines", "--order", "oldest", "--limit", "2", "--state", str(state)]
    first = invoke(*args, input=text)
    assert [json.loads(x)["title"] for x in first.stdout.splitlines()] == ["Alpha", "Bravo"]
    second = invoke(*args, input=text)
    assert [json.loads(x)["title"] for x in second.stdout.splitlines()] == ["Charlie", "Delta"]


def test_a_broken_state_file_is_one_clean_error(tmp_path):
    state = tmp_path / "seen.json"
    state.write_text("{not json")
    result = invoke("to-json", "-", "--state", str(state), input=rss(A))
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stderr.startswith(f"feedconv: error: {state}: not a feedconv state file")
    assert len(result.stderr.splitlines()) == 1
    assert state.read_text() == "{not json"


# --- the state model -----------------------------------------------------------------------


def test_keys_qualify_ids_that_are_only_unique_within_a_feed():
    assert entry_key(Entry(id="tag:x.example,2024:1"), "Feed") == "tag:x.example,2024:1"
    assert entry_key(Entry(id="1"), "Feed") == "Feed #1"
    assert entry_key(Entry(id="1", source="Other"), "Feed") == "Other #1"


def test_hash_follows_the_text_not_the_markup():
    plain = Entry(id="x", title="T", content_html="<p>Hello world</p>")
    marked = Entry(id="x", title="T", content_html="<div><p>Hello <b>world</b></p></div>")
    edited = Entry(id="x", title="T", content_html="<p>Hello there</p>")
    retitled = Entry(id="x", title="T2", content_html="<p>Hello world</p>")
    assert content_hash(plain) == content_hash(marked)
    assert len({content_hash(plain), content_hash(edited), content_hash(retitled)}) == 3


def test_records_of_entries_gone_from_the_feeds_fade_after_a_year(tmp_path):
    old = Entry(id="tag:x,1", title="Old")
    kept = Entry(id="tag:x,2", title="Kept")
    state = State().after([old, kept], [old, kept], "F", date(2023, 1, 1))
    later = state.after([], [kept], "F", date(2024, 1, 2))
    assert set(later.records) == {"tag:x,2"}
    assert later.records["tag:x,2"].seen == date(2024, 1, 2)
    path = tmp_path / "state.json"
    write_state(path, later)
    assert read_state(path) == later
    assert read_state(tmp_path / "missing.json") == State()


def test_state_file_is_deterministic(tmp_path):
    entries = [Entry(id=f"tag:x,{n}", title=str(n)) for n in (3, 1, 2)]
    day = datetime(2024, 5, 1, tzinfo=UTC).date()
    one = State().after(entries, entries, "F", day).dumps()
    two = State().after(list(reversed(entries)), entries, "F", day).dumps()
    assert one == two
    assert list(json.loads(one)["items"]) == ["tag:x,1", "tag:x,2", "tag:x,3"]


@pytest.mark.parametrize(
    "text",
    ['{"feedconv-state": 2, "items": {}}', "[]", '{"feedconv-state": 1, "items": {"k": 5}}'],
)
def test_unknown_state_formats_are_refused(tmp_path, text):
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(Exception, match="not a feedconv state file"):
        read_state(path)
