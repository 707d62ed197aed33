"""The one-document Markdown output: a heading per post and a compact byline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feedconv.model import Author, Entry, Feed
from feedconv.writers.markdown import render_document

WHEN = datetime(2019, 4, 20, 0, 3, tzinfo=timezone(timedelta(hours=1)))


def test_byline_is_one_line_with_date_authors_tags_and_link() -> None:
    entry = Entry(
        id="1",
        title="A post",
        link="https://example.com/a",
        published=WHEN,
        authors=(Author(name="Ada"), Author(email="bob@example.com")),
        categories=("board", "open_stack"),
        content_html="<p>Body.</p>",
    )
    document = "".join(render_document(Feed(title="Blog", entries=(entry,))))
    assert document == (
        "# Blog\n\n# A post\n\n"
        "2019-04-20 00:03 +01:00 · by Ada, bob@example.com · in board, open\\_stack"
        " · [original](https://example.com/a)\n\nBody.\n"
    )


def test_a_post_without_metadata_has_no_byline() -> None:
    entry = Entry(id="1", title="Bare", content_html="<h1>Inside</h1><p>Text</p>")
    document = "".join(render_document(Feed(title="Blog", entries=(entry,))))
    # The post's own level-1 heading moves below the post's title.
    assert document == "# Blog\n\n# Bare\n\n## Inside\n\nText\n"
