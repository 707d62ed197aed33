"""The command line as a contract: stdout, stderr and exit code asserted separately."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedconv.cli import ExitCode, cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OPENSTACK = EXAMPLES / "openstack.xml"
ATOM = EXAMPLES / "field-notes.atom"
JSONFEED = EXAMPLES / "release-log.json"


def invoke(*args: str, input: bytes | str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, prog_name="feedconv")


def assert_one_error_line(stderr: str, fragment: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("feedconv: error: "), stderr
    assert fragment in lines[0]
    assert "Traceback" not in stderr


# --- to-json ---------------------------------------------------------------------------


def test_to_json_openstack_lists_all_posts_with_their_fields():
    result = invoke("to-json", str(OPENSTACK))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "graham.hayes.ie (Posts about openstack)"
    items = doc["items"]
    assert len(items) == 10
    for item in items:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", item["date_published"])
        assert item["authors"] == [{"name": "Graham Hayes"}]
        assert item["tags"], item["id"]
        assert len(item["content_html"]) > 500
        assert item["url"].startswith("http://graham.hayes.ie/posts/")
    years = {item["date_published"][:4] for item in items}
    assert years == {"2016", "2017", "2018", "2019"}


def test_to_json_keeps_document_order():
    doc = json.loads(invoke("to-json", str(OPENSTACK)).stdout)
    source = OPENSTACK.read_text(encoding="utf-8")
    positions = [source.index(f"<link>{item['url']}</link>") for item in doc["items"]]
    assert positions == sorted(positions)


def test_to_json_atom_example():
    result = invoke("to-json", str(ATOM))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["home_page_url"] == "https://notes.example.org/"
    items = doc["items"]
    assert [i["title"] for i in items] == [
        "Soil temperature & when to sow",
        "Compost heat, measured",
        "Winter: a short list of what survived",
        "Rain gauge, calibrated",
    ]
    first, second, third, fourth = items
    assert first["date_published"] == "2021-04-03T07:30:00+02:00"
    assert first["date_modified"] == "2021-04-05T19:02:00+02:00"
    assert first["tags"] == ["sowing", "Measurements"]
    assert first["summary"] == "A cheap probe and a spreadsheet beat the calendar."
    assert 'class="language-python"' in first["content_html"]
    # xhtml content with its own xml:base resolves the image against it
    assert "https://notes.example.org/posts/compost-heat/heap.jpg" in second["content_html"]
    assert third["authors"] == [{"name": "Sam Okafor"}]
    assert "<script" not in third["content_html"] and "alert(" not in third["content_html"]
    # an entry with only a summary uses it as the body
    assert "https://notes.example.org/posts/soil-temperature/" in fourth["content_html"]
    assert "date_published" not in fourth
    assert fourth["date_modified"] == "2023-03-02T08:15:00+01:00"


def test_to_json_jsonfeed_example():
    result = invoke("to-json", str(JSONFEED))
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    assert len(items) == 3
    assert items[1]["attachments"][0]["size_in_bytes"] == 482113
    assert 'src="https://tidewater.example.net/img/plot-2.2.png"' in items[1]["content_html"]
    assert items[2]["date_published"] == "2022-11-05T16:45:00-03:00"
    assert items[2]["authors"] == [{"name": "Lucía Pérez"}]
    assert items[2]["content_text"].startswith("Plain-text notes")


def test_to_json_lines_gives_one_item_per_line():
    result = invoke("to-json", str(OPENSTACK), "--lines")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 10
    assert all(json.loads(line)["id"] for line in lines)


def test_to_json_round_trips_through_stdin():
    first = invoke("to-json", str(ATOM)).stdout
    again = invoke("to-json", "-", input=first.encode("utf-8"))
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["items"] == json.loads(first)["items"]


def test_json_lines_are_accepted_as_input():
    lines = invoke("to-json", str(OPENSTACK), "--lines").stdout
    result = invoke("to-json", "-", input=lines)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["items"]) == 10


def test_output_file_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "feed.json"
    assert invoke("to-json", str(ATOM), "-o", str(out)).exit_code == 0
    first = out.read_bytes()
    out.write_text("keep me")
    result = invoke("to-json", str(ATOM), "-o", str(out))
    assert result.exit_code == ExitCode.OUTPUT_REFUSED
    assert_one_error_line(result.stderr, "already exists")
    assert out.read_text() == "keep me"
    assert invoke("to-json", str(ATOM), "-o", str(out), "--force").exit_code == 0
    assert out.read_bytes() == first


def test_output_dash_means_stdout():
    result = invoke("to-json", str(ATOM), "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "Field Notes"


# --- errors ----------------------------------------------------------------------------


def test_missing_file_is_one_clean_line(tmp_path):
    result = invoke("to-json", str(tmp_path / "nope.xml"))
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stdout == ""
    assert_one_error_line(result.stderr, "no such file")


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"", "empty"),
        (b"<html><body><p>Not a feed</p></body></html>", "not a feed"),
        (b'{"hello": "world"}', "not a JSON Feed"),
        (b"\x00\x01\x02garbage\xff\xfe", "not a readable feed"),
        (b"<?xml version='1.0'?><catalog><book/></catalog>", "not a feed"),
    ],
)
def test_bad_input_is_one_clean_line(payload, fragment):
    result = invoke("to-json", "-", input=payload)
    assert result.exit_code == ExitCode.INPUT_ERROR, result.stderr
    assert result.stdout == ""
    assert_one_error_line(result.stderr, fragment)


def test_usage_error_exits_2():
    result = invoke("to-json")
    assert result.exit_code == ExitCode.USAGE
    assert "Missing argument" in result.stderr
    assert result.stdout == ""


def test_split_and_output_together_is_a_usage_error(tmp_path):
    result = invoke("to-md", str(ATOM), "-o", str(tmp_path / "a.md"), "--split", str(tmp_path))
    assert result.exit_code == ExitCode.USAGE


def test_empty_feed_gives_no_book(tmp_path):
    empty = b'<rss version="2.0"><channel><title>Nothing</title></channel></rss>'
    out = tmp_path / "empty.epub"
    result = invoke("to-epub", "-", "-o", str(out), input=empty)
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert_one_error_line(result.stderr, "no items")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_input_leaves_no_output_file(tmp_path):
    out = tmp_path / "book.epub"
    result = invoke("to-epub", "-", "-o", str(out), input=b"<html/>")
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert list(tmp_path.iterdir()) == []


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("feedconv, version ")


@pytest.mark.parametrize("command", ["to-json", "to-md", "to-epub"])
def test_every_command_has_help_with_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"feedconv {command} " in result.stdout


# --- to-md -----------------------------------------------------------------------------


def test_to_md_document():
    result = invoke("to-md", str(OPENSTACK))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    text = result.stdout
    assert text.startswith("# graham.hayes.ie (Posts about openstack)\n")
    # The feed title, then one level-1 heading per post (bodies start at level 2).
    sections = [line for line in text.splitlines() if line.startswith("# ")]
    assert len(sections) == 11
    assert "<script" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_to_md_unescape_twice(tmp_path, stdin):
    """A body escaped twice is shown as the text it is, with a warning; --unescape-twice
    reads it as HTML. Both the streamed file and the whole-feed read honour it."""
    data = (ROOT / "tests" / "data" / "hostile" / "repair-content-escaped-twice.xml").read_bytes()
    path = tmp_path / "feed.xml"
    path.write_bytes(data)
    args = ["-"] if stdin else [str(path)]
    given = {"input": data} if stdin else {}
    plain = invoke("to-md", *args, **given)
    assert plain.exit_code == 0, plain.stderr
    assert "\\<p>Hello \\<b>world\\</b>\\</p>" in plain.stdout
    assert "escaped twice" in plain.stderr and "--unescape-twice" in plain.stderr
    read = invoke("to-md", *args, "--unescape-twice", **given)
    assert read.exit_code == 0, read.stderr
    assert "Hello **world**" in read.stdout
    assert read.stderr == ""


def test_to_md_split_writes_one_file_per_post_with_front_matter(tmp_path):
    out = tmp_path / "posts"
    result = invoke("to-md", str(OPENSTACK), "--split", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    files = sorted(out.iterdir())
    assert len(files) == 10
    for path in files:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d-[a-z0-9-]+\.md", path.name), path.name
        text = path.read_text(encoding="utf-8")
        head, sep, body = text[4:].partition("\n---\n")
        assert text.startswith("---\n") and sep, path.name
        keys = [line.split(":", 1)[0] for line in head.splitlines()]
        assert {"title", "date", "author", "link", "id", "tags"} <= set(keys), keys
        assert body.strip()
    assert result.stderr == "10 written, 0 unchanged\n"
    # a second run finds nothing to do and changes nothing
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    again = invoke("to-md", str(OPENSTACK), "--split", str(out))
    assert again.exit_code == 0, again.stderr
    assert again.stderr == "0 written, 10 unchanged\n"
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before


def test_to_md_reads_json_feed_from_stdin():
    json_text = invoke("to-json", str(JSONFEED)).stdout
    result = invoke("to-md", "-", input=json_text)
    assert result.exit_code == 0, result.stderr
    assert "# Tidewater 2.1.0" in result.stdout
    assert "```shell\npip install --upgrade tidewater==2.1.0\n```" in result.stdout


def test_source_of_merged_items_survives_a_json_round_trip():
    merged = invoke("to-json", str(ATOM), str(JSONFEED))
    assert merged.exit_code == 0, merged.stderr
    items = json.loads(merged.stdout)["items"]
    assert {item["_feedconv"]["source"] for item in items} == {
        "Field Notes",
        "Tidewater release log",
    }
    again = invoke("to-json", "-", input=merged.stdout)
    assert json.loads(again.stdout)["items"] == items


def test_openstack_book_is_valid_reproducible_and_dated(epubcheck, tmp_path):
    import zipfile

    from lxml import etree

    books = []
    for name in ("a.epub", "b.epub"):
        out = tmp_path / name
        result = invoke("to-epub", str(OPENSTACK), "-o", str(out), "--images", "link")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        books.append(out.read_bytes())
    assert books[0] == books[1]
    assert epubcheck(books[0]) == ([], [])
    with zipfile.ZipFile(tmp_path / "a.epub") as book:
        nav = etree.fromstring(book.read("EPUB/nav.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    (toc,) = nav.xpath("//x:nav[@*[local-name()='type']='toc']/x:ol", namespaces=ns)
    years = toc.xpath("x:li", namespaces=ns)
    assert [li.xpath("string(x:a)", namespaces=ns) for li in years] == [
        "2016",
        "2017",
        "2018",
        "2019",
    ]
    posts = 0
    for year in years:
        months = year.xpath("x:ol/x:li", namespaces=ns)
        assert months and all(m.xpath("x:a/@href", namespaces=ns) for m in months)
        for month in months:
            assert month.xpath("string(x:a)", namespaces=ns).endswith(
                year.xpath("string(x:a)", namespaces=ns)
            )
            posts += len(month.xpath("x:ol/x:li/x:a", namespaces=ns))
    assert posts == 10
