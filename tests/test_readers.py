"""Reader fixtures as data: every ``tests/data/feeds/<format>/<case>.(xml|json)`` is read
with :func:`feedconv.readers.read_feed` and compared, as JSON Feed, with the
``<case>.expected.json`` beside it.

The expected files state what a careful human expects of the feed, not what the code
happened to produce. ``pytest --update-golden`` rewrites them from the current output;
review the diff of every rewritten file before keeping it.

Ids that are a hash of the item (no guid/id and no link) are written as
``"<stable hash>"`` in the expected files: the test checks their shape, that they are
stable from one read to the next, and that they are unique in the feed.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from feedconv.readers import read_feed
from feedconv.writers.jsonfeed import feed_dict

DATA = Path(__file__).parent / "data" / "feeds"
FEED_URL = "https://example.org/feed.xml"  # every fixture "comes from" here
HASH_ID = "<stable hash>"
_HASH = re.compile(r"urn:sha256:[0-9a-f]{32}")
_EXPECTED_SUFFIX = ".expected.json"


def _expected_path(source: Path) -> Path:
    return source.with_name(source.stem + _EXPECTED_SUFFIX)


def _sources() -> list[Path]:
    return sorted(
        path
        for path in DATA.glob("*/*")
        if path.suffix in (".xml", ".json") and not path.name.endswith(_EXPECTED_SUFFIX)
    )


KNOWN_BUGS: dict[str, str] = {}


def _case(path: Path) -> Any:
    case_id = f"{path.parent.name}/{path.stem}"
    reason = KNOWN_BUGS.get(case_id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=case_id, marks=marks)


CASES = [_case(path) for path in _sources()]


def read_as_dict(source: Path) -> dict[str, Any]:
    """The fixture read as a feed, as JSON Feed, with the detected format as ``_format``."""
    feed = read_feed(source.read_bytes(), url=FEED_URL)
    return {"_format": feed.format, **feed_dict(feed)}


def _mask_hash_ids(doc: dict[str, Any]) -> dict[str, Any]:
    items = [
        {**item, "id": HASH_ID} if _HASH.fullmatch(str(item.get("id"))) else item
        for item in doc["items"]
    ]
    return {**doc, "items": items}


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("source", CASES)
def test_reader_case(source: Path, update_golden: bool, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        got = read_as_dict(source)
    # Well-formed fixtures need no repair: nothing to warn about.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

    # Ids: always present, unique within the feed, and stable from one read to the next.
    ids = [item["id"] for item in got["items"]]
    assert all(isinstance(i, str) and i.strip() for i in ids), ids
    assert len(set(ids)) == len(ids), f"duplicate ids: {ids}"
    assert read_as_dict(source) == got

    masked = _mask_hash_ids(got)
    expected_path = _expected_path(source)
    if update_golden and f"{source.parent.name}/{source.stem}" in KNOWN_BUGS:
        pytest.skip("known reader bug: the expected file is written by hand")
    if update_golden:
        text = _dump(masked)
        if not expected_path.exists() or expected_path.read_text(encoding="utf-8") != text:
            expected_path.write_text(text, encoding="utf-8")
        return
    assert expected_path.exists(), f"{expected_path.name} is missing; run pytest --update-golden"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert masked == expected


def test_hash_ids_are_content_based() -> None:
    """The fallback id is a hash of the item: same input, same id; other input, other id."""
    template = (
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>{}</title><description>body</description></item>"
        "</channel></rss>"
    )
    first = read_feed(template.format("One").encode(), url=FEED_URL).entries[0].id
    again = read_feed(template.format("One").encode(), url=FEED_URL).entries[0].id
    other = read_feed(template.format("Two").encode(), url=FEED_URL).entries[0].id
    assert _HASH.fullmatch(first)
    assert first == again
    assert first != other


def test_every_case_has_an_expectation_and_vice_versa() -> None:
    sources = {path.with_suffix("") for path in _sources()}
    expected = {
        path.with_name(path.name.removesuffix(_EXPECTED_SUFFIX))
        for path in DATA.glob(f"*/*{_EXPECTED_SUFFIX}")
    }
    assert expected - sources == set(), "expected files without a fixture"
    assert sources - expected == set(), "fixtures without an expected file"


def test_cases_cover_every_format() -> None:
    folders = {path.parent.name for path in _sources()}
    assert folders == {"rss", "atom", "json"}
    assert len(CASES) >= 30


# --- bodies escaped twice --------------------------------------------------------------

_ESCAPED = "&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;"  # the body after decoding
_TWICE = {
    "rss": (
        '<rss version="2.0"><channel><title>t</title><item><title>Twice</title>'
        "<description>{}</description></item></channel></rss>"
    ),
    "atom": (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>'
        '<entry><title>Twice</title><id>urn:e</id><content type="html">{}</content>'
        "</entry></feed>"
    ),
    "json": (
        '{{"version": "https://jsonfeed.org/version/1.1", "title": "t", '
        '"items": [{{"id": "e", "title": "Twice", "content_html": "{}"}}]}}'
    ),
}


def _twice_feed(kind: str, body: str) -> bytes:
    encoded = body if kind == "json" else body.replace("&", "&amp;")
    return _TWICE[kind].format(encoded).encode()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("kind", sorted(_TWICE))
def test_body_escaped_twice_stays_text_with_a_warning(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The feed's body says "<p>Hello…" as text: that text is what is kept, and the
    warning names the post and the option that reads it as HTML instead."""
    with caplog.at_level(logging.WARNING):
        entry = read_feed(_twice_feed(kind, _ESCAPED), url=FEED_URL).entries[0]
    assert entry.content_html == _ESCAPED
    [warning] = _warnings(caplog)
    assert "'Twice'" in warning and "escaped twice" in warning
    assert "--unescape-twice" in warning


@pytest.mark.parametrize("kind", sorted(_TWICE))
def test_unescape_twice_reads_such_bodies_as_html(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        feed = read_feed(_twice_feed(kind, _ESCAPED), url=FEED_URL, unescape_twice=True)
    assert feed.entries[0].content_html == "<p>Hello <b>world</b></p>"
    assert _warnings(caplog) == []


@pytest.mark.parametrize(
    "body",
    [
        "Use &lt;br&gt; for a line break.",  # text about a tag: it does not start with one
        "&lt;3 and &lt;- are not tags",
        "&lt;notatag",
    ],
)
def test_escaped_text_that_is_not_a_document_is_left_alone(
    body: str, caplog: pytest.LogCaptureFixture
) -> None:
    for unescape in (False, True):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            feed = read_feed(_twice_feed("rss", body), url=FEED_URL, unescape_twice=unescape)
        assert feed.entries[0].content_html == body
        assert _warnings(caplog) == []


def test_streamed_file_honours_unescape_twice(tmp_path: Path) -> None:
    from feedconv.readers.stream import stream_feed

    path = tmp_path / "feed.xml"
    path.write_bytes(_twice_feed("rss", _ESCAPED))
    _, default = stream_feed(path, FEED_URL)
    _, unescaped = stream_feed(path, FEED_URL, unescape_twice=True)
    assert [e.content_html for e in default] == [_ESCAPED]
    assert [e.content_html for e in unescaped] == ["<p>Hello <b>world</b></p>"]
