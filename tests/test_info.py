"""`feedconv info`: a feed at a glance on the terminal, or as JSON for scripts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from feedconv.cli import cli
from feedconv.model import Author, Entry, Feed
from feedconv.summary import months_between, summarize

ROOT = Path(__file__).resolve().parent.parent
OPENSTACK = ROOT / "examples" / "openstack.xml"
ATOM = ROOT / "examples" / "field-notes.atom"
DATA = Path(__file__).resolve().parent / "data" / "merge"

COLOR = re.compile(r"\x1b\[[0-9;]*3[0-9](;[0-9]+)*m")  # a foreground colour


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), prog_name="feedconv", env=env)


def test_info_shows_the_feed_at_a_glance():
    result = invoke("info", str(OPENSTACK))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "Title graham.hayes.ie (Posts about openstack)" in lines
    assert "Format rss2.0" in lines
    assert "Site http://graham.hayes.ie/" in lines
    assert "Items 10" in lines
    assert "Dates 2016-05-05 to 2019-04-20" in lines
    assert "Authors Graham Hayes (10)" in lines
    assert any(line.startswith("Categories openstack (10), tc (5), summit (3)") for line in lines)
    assert "Posts per month (last 24)" in lines
    chart = [line for line in lines if re.match(r"\d{4}-\d\d \d+", line)]
    assert len(chart) == 24
    assert chart[-1].startswith("2019-04 1 █")
    assert chart[0].startswith("2017-05 ")
    assert "\x1b[" not in result.stdout  # not a terminal: plain text


def test_info_json_is_for_scripts():
    result = invoke("info", str(OPENSTACK), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == [
        "title",
        "format",
        "home_page_url",
        "feed_url",
        "description",
        "language",
        "items",
        "undated",
        "first",
        "last",
        "authors",
        "categories",
        "per_month",
        "sources",
    ]
    assert doc["items"] == 10 and doc["undated"] == 0
    assert doc["first"] == "2016-05-05T17:00:00+00:00"
    assert doc["authors"] == [{"name": "Graham Hayes", "items": 10}]
    assert doc["categories"][0] == {"name": "openstack", "items": 10}
    months = list(doc["per_month"])
    assert months[0] == "2016-05" and months[-1] == "2019-04"
    assert len(months) == 36  # every month, the empty ones too
    assert sum(doc["per_month"].values()) == 10
    assert doc["sources"] == []


def test_info_takes_the_selection_and_several_feeds():
    result = invoke(
        "info",
        str(DATA / "blog.rss"),
        str(DATA / "notes.json"),
        "--since",
        "2024-02",
        "--json",
    )
    doc = json.loads(result.stdout)
    # Bravo, Notes from the Field, Delta; Foxtrot and the undated Golf (the notes'
    # copy of "Notes from the Field" is a duplicate)
    assert doc["items"] == 5
    assert doc["undated"] == 1
    assert doc["sources"] == [
        {"title": "Harbour Blog", "items": 3},
        {"title": "Field Notes", "items": 2},
    ]


def test_info_on_a_selection_that_leaves_nothing_still_answers():
    result = invoke("info", str(ATOM), "--since", "2100", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["items"] == 0


def test_colours_on_a_terminal_and_none_with_no_color():
    coloured = invoke("info", str(ATOM), env={"FORCE_COLOR": "1", "NO_COLOR": None})  # type: ignore[dict-item]
    assert COLOR.search(coloured.stdout), coloured.stdout
    plain = invoke("info", str(ATOM), env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.exit_code == 0
    assert "Field Notes" in plain.stdout
    assert not COLOR.search(plain.stdout)


def test_summary_counts_labels_once_per_item_in_any_case():
    day = datetime(2024, 1, 31, 23, 30, tzinfo=UTC)
    feed = Feed(
        entries=(
            Entry(id="1", categories=("Python", "python"), published=day),
            Entry(id="2", categories=("PYTHON", "Rust"), authors=(Author(name="Ada"),)),
            Entry(id="3", authors=(Author(email="ada@example.org"), Author(name="Ada"))),
        )
    )
    summary = summarize(feed)
    assert summary.categories == (("Python", 2), ("Rust", 1))
    assert summary.authors == (("Ada", 2), ("ada@example.org", 1))
    assert summary.per_month == (("2024-01", 1),)
    assert summary.undated == 2


def test_months_between_crosses_years():
    start = datetime(2023, 11, 5, tzinfo=UTC)
    end = datetime(2024, 2, 1, tzinfo=UTC)
    assert months_between(start, end) == ["2023-11", "2023-12", "2024-01", "2024-02"]
