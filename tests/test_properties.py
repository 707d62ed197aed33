"""Property tests over the readers: any bytes give a Feed or an InputError."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks import assert_inert
from feedconv.errors import InputError
from feedconv.model import Feed
from feedconv.readers import read_feed
from feedconv.writers.jsonfeed import dump_feed
from feedconv.writers.markdown import render_document

SEEDS = [
    p.read_bytes()
    for p in sorted((Path(__file__).parent / "data" / "feeds").glob("*/*"))
    if p.suffix in (".xml", ".json")
]
TOKENS = [
    b"<",
    b">",
    b"&",
    b"&nbsp;",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE x [<!ENTITY e 'x'>]>",
    b"<script>alert(1)</script>",
    b"&#0;",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b'xml:base="javascript:x"',
    b"</item>",
    b"<item>",
    b"<entry>",
    b'{"items": [',
    b"\xc3\x83\xc2\xa9",
]


def outcome(data: bytes) -> Feed | None:
    try:
        feed = read_feed(data, url="https://example.org/feed.xml")
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return None
    for entry in feed.entries:
        assert entry.id
        assert_inert(entry.content_html or "")
    dump_feed(feed)
    "".join(render_document(feed))
    return feed


@settings(max_examples=150, deadline=None, database=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_feed_or_an_input_error(data: bytes) -> None:
    outcome(data)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.sampled_from(range(len(SEEDS))),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete", "truncate", "token"]),
            st.integers(min_value=0, max_value=10**9),
            st.integers(min_value=0, max_value=255),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_feeds_give_a_feed_or_an_input_error(seed: int, edits) -> None:
    data = bytearray(SEEDS[seed])
    for kind, where, value in edits:
        if not data:
            break
        at = where % len(data)
        if kind == "flip":
            data[at] = value
        elif kind == "insert":
            data[at:at] = bytes([value])
        elif kind == "delete":
            del data[at : at + 1 + value % 16]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = random.Random(value).choice(TOKENS)
    outcome(bytes(data))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_pretty_json_is_json_dumps_indent_2(value):
    from feedconv.writers.jsonfeed import pretty

    expected = json.dumps(value, ensure_ascii=False, indent=2)
    assert pretty(value) == expected
    assert pretty(value, "    ") == expected.replace("\n", "\n    ")
