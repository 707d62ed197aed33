"""Hostile input, kept forever in ``tests/data/hostile/``.

Every file there is run by the tests for its group, named by its prefix:

- ``xxe-*``, ``dtd-*``: external entities and DTDs are never read nor fetched.
- ``bomb-*``: entity expansion ends quickly with bounded output.
- ``active-*``: no active content survives in bodies; no script text in titles.
- ``urls-*``: no ``javascript:``/``data:`` URL in links, images, enclosures, authors.
- ``titles-*``: titles become file names that stay inside the output folder, and
  plain-text fields carry no control characters.
- ``notfeed-*``: not a feed → :class:`~feedconv.errors.InputError`, one line.
- ``repair-*``: damaged but usable → a feed (``<case>.expected.json``, as in
  ``tests/data/feeds``) plus exactly one warning record (a body escaped twice is
  kept as the text it is, and warned about).
- ``convert-*``: unusual but valid (legacy encodings, UTF-16/32, CDATA…) → a feed
  (``<case>.expected.json``) and no warning at all.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from feedconv.errors import FeedconvError, InputError
from feedconv.model import Feed
from feedconv.readers import read_feed
from feedconv.writers import markdown as markdown_writer
from feedconv.writers._files import safe_join
from feedconv.writers.jsonfeed import feed_dict

HOSTILE = Path(__file__).parent / "data" / "hostile"
FEED_URL = "https://example.org/feed.xml"
GROUPS = (
    "xxe-",
    "dtd-",
    "bomb-",
    "active-",
    "urls-",
    "titles-",
    "notfeed-",
    "repair-",
    "convert-",
)
EXPECTED_SUFFIX = ".expected.json"
HASH_ID = "<stable hash>"
_HASH = re.compile(r"urn:sha256:[0-9a-f]{32}")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _files(prefix: str, marks: dict[str, str] | None = None) -> list[Any]:
    marks = marks or {}
    params = []
    for path in sorted(HOSTILE.glob(f"{prefix}*")):
        if path.name.endswith(EXPECTED_SUFFIX):
            continue
        reason = marks.get(path.name)
        mark = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=path.name, marks=mark))
    assert params, f"no hostile fixtures named {prefix}*"
    return params


def _read(path: Path) -> Feed:
    return read_feed(path.read_bytes(), url=FEED_URL)


def _all_output(feed: Feed) -> str:
    """Everything feedconv could write from ``feed``: the model itself, JSON Feed and
    the Markdown document."""
    parts = [
        repr(feed),
        json.dumps(feed_dict(feed), ensure_ascii=False),
        "".join(markdown_writer.render_document(feed)),
    ]
    return "\n".join(parts)


def test_every_hostile_file_belongs_to_a_group() -> None:
    names = [p.name for p in HOSTILE.iterdir() if not p.name.endswith(EXPECTED_SUFFIX)]
    assert len(names) >= 60
    assert [n for n in names if not n.startswith(GROUPS)] == []
    expected = {p.name.removesuffix(EXPECTED_SUFFIX) for p in HOSTILE.glob(f"*{EXPECTED_SUFFIX}")}
    converted = {n.rpartition(".")[0] for n in names if n.startswith(("repair-", "convert-"))}
    assert expected == converted, "each repair-*/convert-* fixture, and only those, has one"


# --- XXE and DTDs ------------------------------------------------------------------------


def _passwd_markers() -> list[str]:
    markers = ["root:x:0:0", "root:"]
    try:
        lines = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return markers
    return markers + [line for line in lines[:5] if len(line) > 8]


@pytest.mark.parametrize("path", _files("xxe-") + _files("dtd-"))
def test_external_entities_and_dtds_are_not_read(path: Path) -> None:
    started = time.monotonic()
    feed = _read(path)
    assert time.monotonic() - started < 5, "something waited on the network"
    output = _all_output(feed)
    for marker in _passwd_markers():
        assert marker not in output
    assert feed.entries, "the feed around the entity is still read"


def _listener() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    return server


def _was_contacted(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize("damage", ["", "&nbsp;"], ids=["well-formed", "repaired"])
def test_xxe_to_a_real_file_and_a_real_listener(tmp_path: Path, damage: str) -> None:
    """Entities aimed at a file we wrote and a port we listen on: nothing is read, nothing
    connects, on the first parse and on the repair path (``&nbsp;`` forces a re-parse).

    ``%pfile;`` would load a DTD from disk whose internal entity then shows up in an
    attribute value (lxml expands entities there): lxml's ``collect_ids=False`` used to
    make libxml2 load external parameter entities, so this caught a real leak."""
    token = "SECRET-TOKEN-7f3a9c"
    secret = tmp_path / "secret.txt"
    secret.write_text(token, encoding="utf-8")
    evil_dtd = tmp_path / "evil.dtd"
    evil_dtd.write_text(
        f'<!ENTITY fromdtd SYSTEM "{secret.as_uri()}">\n<!ENTITY inattr "{token}">',
        encoding="utf-8",
    )
    server = _listener()
    port = server.getsockname()[1]
    try:
        document = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://127.0.0.1:{port}/external.dtd" [
  <!ENTITY file SYSTEM "{secret.as_uri()}">
  <!ENTITY net SYSTEM "http://127.0.0.1:{port}/entity">
  <!ENTITY % pfile SYSTEM "{evil_dtd.as_uri()}">
  <!ENTITY % pnet SYSTEM "http://127.0.0.1:{port}/param.dtd">
  %pfile;
  %pnet;
]>
<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude">
  <channel>
    <title>a &file; b &net; c &fromdtd;{damage}</title>
    <item>
      <title>&file;</title><guid isPermaLink="false">1</guid>
      <description>&file; &net; &fromdtd;</description>
      <enclosure url="https://example.org/&inattr;.mp3" type="audio/mpeg"/>
      <xi:include href="{secret.as_uri()}" parse="text"/>
    </item>
  </channel>
</rss>"""
        feed = read_feed(document.encode(), url=FEED_URL)
        assert token not in _all_output(feed)
        assert not _was_contacted(server)
    finally:
        server.close()


# --- entity bombs ------------------------------------------------------------------------


@pytest.mark.parametrize("path", _files("bomb-"))
def test_entity_bombs_end_quickly_and_small(path: Path) -> None:
    started = time.monotonic()
    try:
        feed = _read(path)
    except InputError as exc:
        output = str(exc)
    else:
        output = _all_output(feed)
    assert time.monotonic() - started < 5
    assert len(output) < 100_000
    assert "lol" * 100 not in output
    assert "a" * 10_000 not in output


# --- active content ------------------------------------------------------------------------

_ACTIVE_TAGS = frozenset(
    {
        *("script", "style", "iframe", "frame", "object", "embed", "applet"),
        *("svg", "math", "form", "input", "button", "meta", "base", "link"),
    }
)
_URL_ATTRS = frozenset(
    {"href", "src", "poster", "action", "formaction", "data", "cite", "background"}
)
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", ""})


def _scheme(url: str) -> str:
    cleaned = "".join(ch for ch in url if ch > " ").lower()
    return urlsplit(cleaned).scheme if ":" in cleaned.split("/", 1)[0] else ""


def _assert_inert(fragment: str) -> None:
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag.lower() not in _ACTIVE_TAGS, fragment
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            assert name.lower() not in ("style", "srcdoc"), (name, value)
            if name.lower() in _URL_ATTRS:
                assert _scheme(value) in _SAFE_SCHEMES, (name, value)
            if name.lower() == "srcset":
                for candidate in value.split(","):
                    url = candidate.strip().split(" ")[0]
                    assert _scheme(url) in _SAFE_SCHEMES, (name, value)


def _text_fields(feed: Feed) -> list[str]:
    fields = [feed.title, feed.description]
    for entry in feed.entries:
        fields += [entry.title, entry.summary, entry.content_text]
    return [field for field in fields if field]


@pytest.mark.parametrize("path", _files("active-"))
def test_bodies_carry_no_active_content(path: Path) -> None:
    feed = _read(path)
    bodies = [e.content_html for e in feed.entries if e.content_html]
    assert bodies, "the fixture has bodies"
    for body in bodies:
        _assert_inert(body)
        assert "alert(" not in body
        assert "javascript" not in body.lower()
    # Script text must not leak into plain-text fields either (titles, summaries).
    for text in _text_fields(feed):
        assert "alert(" not in text, text
        assert "display: none" not in text and "p{}" not in text, text


def _link_fields(feed: Feed) -> list[str]:
    urls = [feed.home_page_url, feed.feed_url, feed.icon, feed.favicon]
    urls += [a.url for a in feed.authors]
    for entry in feed.entries:
        urls += [entry.link, entry.external_url, entry.image]
        urls += [a.url for a in entry.authors]
        urls += [e.url for e in entry.enclosures]
    return [url for url in urls if url]


@pytest.mark.parametrize(
    "path",
    _files("active-") + _files("urls-"),
)
def test_no_script_urls_outside_bodies(path: Path) -> None:
    feed = _read(path)
    for url in _link_fields(feed):
        assert _scheme(url) in ("http", "https", "mailto"), url
    # The items themselves are still read, with their titles and ids.
    assert all(entry.id and entry.title for entry in feed.entries)


# --- hostile titles ------------------------------------------------------------------------

_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)


@pytest.mark.parametrize("path", _files("titles-"))
def test_titles_make_file_names_inside_the_folder(path: Path, tmp_path: Path) -> None:
    feed = _read(path)
    root = tmp_path / "out"
    root.mkdir()
    names = markdown_writer.post_filenames(feed.entries)
    assert len(names) == len(feed.entries)
    assert len({name.casefold() for name in names}) == len(names), names
    for name in names:
        assert "/" not in name and "\\" not in name, name
        assert not name.startswith(".") and ".." not in name, name
        assert not _CONTROL.search(name), name
        assert len(name.encode("utf-8")) <= 255, name
        assert name.split(".")[0].casefold() not in _RESERVED, name
        target = safe_join(root, name)
        assert target.resolve().parent == root.resolve(), (name, target)
        target.write_text("x", encoding="utf-8")
    assert sorted(p.name for p in root.iterdir()) == sorted(names)
    assert list(tmp_path.iterdir()) == [root], "nothing was written beside the folder"


@pytest.mark.parametrize("path", _files("titles-"))
def test_plain_text_fields_carry_no_control_characters(path: Path) -> None:
    feed = _read(path)
    for text in _text_fields(feed):
        assert not _CONTROL.search(text), repr(text)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", "a/../../b", ""])
def test_safe_join_refuses_names_outside_the_folder(name: str, tmp_path: Path) -> None:
    with pytest.raises(FeedconvError):
        safe_join(tmp_path, name)


# --- not a feed ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _files("notfeed-"))
def test_not_a_feed_is_one_readable_input_error(path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _read(path)
    message = str(caught.value)
    assert message.strip() == message and message
    assert "\n" not in message and "\r" not in message
    assert not _CONTROL.search(message), repr(message)
    assert len(message) < 300, message


# --- repairs -------------------------------------------------------------------------------


def _masked_dict(feed: Feed) -> dict[str, Any]:
    doc = {"_format": feed.format, **feed_dict(feed)}
    doc["items"] = [
        {**item, "id": HASH_ID} if _HASH.fullmatch(str(item["id"])) else item
        for item in doc["items"]
    ]
    return doc


def _read_and_compare(
    path: Path, caplog: pytest.LogCaptureFixture, update_golden: bool
) -> list[str]:
    """Read ``path``, compare with its expected JSON Feed (or rewrite it with
    --update-golden) and return the warning lines logged while reading."""
    with caplog.at_level(logging.WARNING):
        feed = _read(path)
    got = _masked_dict(feed)
    expected_path = path.with_name(path.stem + EXPECTED_SUFFIX)
    if update_golden:
        expected_path.write_text(
            json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    else:
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        assert got == expected
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("path", _files("repair-"))
def test_repairs_give_a_feed_and_one_warning(
    path: Path, caplog: pytest.LogCaptureFixture, update_golden: bool
) -> None:
    warnings = _read_and_compare(path, caplog, update_golden)
    assert len(warnings) == 1, warnings
    assert "\n" not in warnings[0] and warnings[0].strip()


@pytest.mark.parametrize("path", _files("convert-"))
def test_unusual_but_valid_input_converts_without_warning(
    path: Path, caplog: pytest.LogCaptureFixture, update_golden: bool
) -> None:
    assert _read_and_compare(path, caplog, update_golden) == []


# --- bounded resources ----------------------------------------------------------------------


def test_huge_body_is_cut_with_a_warning_naming_the_item(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedconv.readers import _common

    monkeypatch.setattr(_common, "MAX_BODY_CHARS", 10_000)
    body = "<p>" + "word " * 5_000 + "</p>"
    data = (
        '<rss version="2.0"><channel><title>t</title><item><title>Big one</title>'
        f"<link>https://example.org/big</link><description><![CDATA[{body}]]></description>"
        "</item></channel></rss>"
    ).encode()
    with caplog.at_level(logging.WARNING):
        feed = read_feed(data, url=FEED_URL)
    (entry,) = feed.entries
    assert entry.content_html is not None
    assert 9_000 < len(entry.content_html) <= 10_100
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 1 and "'Big one'" in messages[0], messages


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deep_xml_nesting_ends_quickly_with_a_result_or_a_clean_error(depth: int) -> None:
    data = (
        b"<rss><channel><title>t</title><item><title>deep</title><description>"
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</description></item></channel></rss>"
    )
    try:
        feed = read_feed(data, url=FEED_URL)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert [e.title for e in feed.entries] == ["deep"]


def test_deep_html_nesting_is_flattened_not_a_recursion_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    depth = 100_000
    body = "<div>" * depth + "deep" + "</div>" * depth
    data = (
        '<rss version="2.0"><channel><title>t</title><item><title>Nested</title>'
        f"<description><![CDATA[<p>before</p>{body}]]></description></item></channel></rss>"
    ).encode()
    with caplog.at_level(logging.WARNING):
        feed = read_feed(data, url=FEED_URL)
        document = "".join(markdown_writer.render_document(feed))
    assert "before" in document
    assert [e.title for e in feed.entries] == ["Nested"]
