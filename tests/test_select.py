"""Selection: date bounds, filters, order, limit and undated items, as pure functions."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from feedconv.model import Author, Entry
from feedconv.select import (
    Order,
    Selection,
    Undated,
    entry_text,
    order_entries,
    parse_when,
    select_entries,
)

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


ENTRIES = (
    Entry(
        id="a",
        title="Alpha",
        published=at(2024, 1, 1),
        categories=("Boats", "Travel"),
        authors=(Author(name="Ada Greenwood", email="ada@example.org"),),
        content_html="<p>The <em>lighthouse</em> keeper</p>",
    ),
    Entry(
        id="b",
        title="Bravo",
        published=at(2024, 6, 10),
        categories=("weather",),
        authors=(Author(name="Sam Okafor"),),
        summary="A storm came through",
    ),
    Entry(id="u", title="Undated", content_text="No date on this one, about boats."),
    Entry(
        id="c",
        title="Charlie",
        updated=at(2024, 6, 14, 23, 0),
        categories=("BOATS",),
        authors=(Author(email="crew@example.org"),),
    ),
)


def ids(entries: list[Entry]) -> list[str]:
    return [e.id for e in entries]


# --- parse_when ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("7d", False, NOW - timedelta(days=7)),
        ("2w", False, NOW - timedelta(weeks=2)),
        ("12h", True, NOW - timedelta(hours=12)),
        (" 3D ", False, NOW - timedelta(days=3)),
        ("2024-05-31", False, at(2024, 5, 31)),
        ("2024-05-31", True, at(2024, 6, 1) - timedelta(microseconds=1)),
        ("2024-05", False, at(2024, 5, 1)),
        ("2024-12", True, at(2025, 1, 1) - timedelta(microseconds=1)),
        ("2023", False, at(2023, 1, 1)),
        ("2023", True, at(2024, 1, 1) - timedelta(microseconds=1)),
        ("2024-05-31T10:30", False, at(2024, 5, 31, 10, 30)),
        (
            "2024-05-31T10:30:00+02:00",
            True,
            datetime(2024, 5, 31, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_parse_when(text, end, expected):
    assert parse_when(text, NOW, end=end) == expected


@pytest.mark.parametrize("text", ["yesterday", "7", "7m", "2024-13", "2024-02-30", "31/05/2024"])
def test_parse_when_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="2024-05"):
        parse_when(text, NOW)


# --- filters -------------------------------------------------------------------------------


def test_no_selection_keeps_everything_in_order():
    assert ids(select_entries(ENTRIES, Selection())) == ["a", "b", "u", "c"]


def test_since_and_until_use_published_else_updated_and_keep_undated_by_default():
    chosen = select_entries(ENTRIES, Selection(since=at(2024, 6, 1)))
    assert ids(chosen) == ["b", "u", "c"]
    chosen = select_entries(ENTRIES, Selection(until=at(2024, 6, 10)))
    assert ids(chosen) == ["a", "b", "u"]  # until is inclusive


def test_undated_drop():
    chosen = select_entries(ENTRIES, Selection(undated=Undated.DROP))
    assert ids(chosen) == ["a", "b", "c"]


def test_category_is_case_insensitive_and_repeatable_as_any_of():
    assert ids(select_entries(ENTRIES, Selection(categories=("boats",)))) == ["a", "c"]
    chosen = select_entries(ENTRIES, Selection(categories=("Weather", "TRAVEL")))
    assert ids(chosen) == ["a", "b"]


def test_author_matches_part_of_name_or_email():
    assert ids(select_entries(ENTRIES, Selection(author="greenwood"))) == ["a"]
    assert ids(select_entries(ENTRIES, Selection(author="@example.org"))) == ["a", "c"]


def test_match_searches_title_summary_and_body_text():
    assert ids(select_entries(ENTRIES, Selection(match="LIGHTHOUSE KEEPER"))) == ["a"]
    assert ids(select_entries(ENTRIES, Selection(match="storm"))) == ["b"]
    assert ids(select_entries(ENTRIES, Selection(match="charl"))) == ["c"]
    assert ids(select_entries(ENTRIES, Selection(match="boats"))) == ["u"]  # not tags


def test_entry_text_drops_markup():
    assert entry_text(ENTRIES[0]) == "The lighthouse keeper"


# --- order and limit -----------------------------------------------------------------------


def test_orders_put_undated_last():
    assert ids(order_entries(ENTRIES, Order.NEWEST)) == ["c", "b", "a", "u"]
    assert ids(order_entries(ENTRIES, Order.OLDEST)) == ["a", "b", "c", "u"]
    assert ids(order_entries(ENTRIES, Order.FEED)) == ["a", "b", "u", "c"]


def test_order_ties_are_broken_by_id():
    same = at(2024, 1, 1)
    entries = [Entry(id="z", published=same), Entry(id="m", published=same)]
    assert ids(order_entries(entries, Order.OLDEST)) == ["m", "z"]
    assert ids(order_entries(entries, Order.NEWEST)) == ["z", "m"]


def test_limit_applies_after_filters_and_order():
    chosen = select_entries(
        ENTRIES, Selection(order=Order.NEWEST, limit=2, categories=("boats", "travel"))
    )
    assert ids(chosen) == ["c", "a"]
    assert select_entries(ENTRIES, Selection(limit=0)) == []


def test_keep_predicate_runs_before_the_limit():
    chosen = select_entries(ENTRIES, Selection(limit=2), keep=lambda e: e.id != "a")
    assert ids(chosen) == ["b", "u"]


def test_selection_reports_what_it_left_out(caplog):
    logger = logging.getLogger("feedconv")
    logger.addHandler(caplog.handler)  # the CLI stops propagation to the root logger
    try:
        with caplog.at_level("INFO", logger="feedconv"):
            select_entries(ENTRIES, Selection(limit=1))
    finally:
        logger.removeHandler(caplog.handler)
    assert "selected 1 of 4 items" in caplog.text
