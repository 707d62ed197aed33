"""`to-md --split`: front matter formats and fields, file name templates, flavors,
image downloads from a server the test starts on 127.0.0.1, and re-runs that write only
what changed."""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from feedconv.cli import ExitCode, cli
from feedconv.writers.markdown import (
    FRONT_MATTER_FIELDS,
    check_template,
    front_matter,
    post_filenames,
)
from imageserver import QuietServer

ROOT = Path(__file__).resolve().parent.parent
OPENSTACK = ROOT / "examples" / "openstack.xml"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
BIG = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)


def invoke(*args: str, input: bytes | str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, prog_name="feedconv")


class _Images(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {
        "/ok.png": (200, PNG),
        "/photo.jpg": (200, JPEG),
        "/big.png": (200, BIG),
        "/page.html": (200, b"<html>not an image</html>"),
    }
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        status, body = self.routes.get(self.path, (404, b"missing"))
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading an oversized image, as it should

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(QuietServer):
    block_on_close = True  # shutdown waits for the handlers


@pytest.fixture
def server() -> Iterator[str]:
    _Images.hits = []
    httpd = _QuietServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _feed(base: str, *bodies: tuple[str, str, str]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/posts/{n}</link><guid>id-{n}</guid>"
        f"<pubDate>{date}</pubDate><category>news</category>"
        f"<description><![CDATA[{body}]]></description></item>"
        for n, (title, date, body) in enumerate(bodies)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    )


def _write_feed(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feed.xml"
    path.write_text(text, encoding="utf-8")
    return path


# --- front matter ------------------------------------------------------------------------


def _first_post(out: Path) -> str:
    return sorted(out.glob("*.md"))[0].read_text(encoding="utf-8")


def test_yaml_front_matter_has_the_fixed_fields(tmp_path: Path) -> None:
    out = tmp_path / "posts"
    result = invoke("to-md", str(OPENSTACK), "--split", str(out))
    assert result.exit_code == 0, result.stderr
    text = _first_post(out)
    head = text.split("---\n")[1]
    keys = [line.split(":", 1)[0] for line in head.splitlines()]
    assert keys == [k for k in FRONT_MATTER_FIELDS if k in keys]  # fixed order
    assert {"title", "date", "author", "link", "id", "tags"} <= set(keys)


def test_toml_front_matter_parses(tmp_path: Path) -> None:
    out = tmp_path / "posts"
    result = invoke("to-md", str(OPENSTACK), "--split", str(out), "--front-matter", "toml")
    assert result.exit_code == 0, result.stderr
    text = _first_post(out)
    assert text.startswith("+++\n")
    data = tomllib.loads(text.split("+++\n")[1])
    assert data["title"] and data["tags"] and data["date"].tzinfo is not None


def test_json_front_matter_parses(tmp_path: Path) -> None:
    out = tmp_path / "posts"
    result = invoke("to-md", str(OPENSTACK), "--split", str(out), "--front-matter", "json")
    assert result.exit_code == 0, result.stderr
    text = _first_post(out)
    head, _, body = text.partition("\n}\n")
    data = json.loads(head + "\n}")
    assert set(data) >= {"title", "date", "link", "id"}
    assert body.startswith("\n") and body.strip()


def test_no_front_matter_and_chosen_fields(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    assert (
        invoke("to-md", str(OPENSTACK), "--split", str(bare), "--front-matter", "none").exit_code
        == 0
    )
    assert not _first_post(bare).startswith(("---", "+++", "{"))
    some = tmp_path / "some"
    result = invoke(
        "to-md", str(OPENSTACK), "--split", str(some), "--front-matter-fields", "title, tags"
    )
    assert result.exit_code == 0, result.stderr
    head = _first_post(some).split("---\n")[1]
    assert [line.split(":")[0] for line in head.splitlines()] == ["title", "tags"]


def test_unknown_front_matter_field_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(
        "to-md", str(OPENSTACK), "--split", str(tmp_path), "--front-matter-fields", "title,colour"
    )
    assert result.exit_code == ExitCode.USAGE
    assert "colour" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_split_options_need_split() -> None:
    result = invoke("to-md", str(OPENSTACK), "--front-matter", "toml")
    assert result.exit_code == ExitCode.USAGE
    assert "--front-matter needs --split" in result.stderr


def test_front_matter_strings_are_quoted_safely() -> None:
    from feedconv.model import Entry

    entry = Entry(id='x"1', title='A "quoted": title\nwith a newline', categories=("a: b",))
    yaml = front_matter(entry, "yaml")
    assert 'title: "A \\"quoted\\": title\\nwith a newline"' in yaml
    assert 'tags: ["a: b"]' in yaml
    toml = tomllib.loads(front_matter(entry, "toml").strip("+\n"))
    assert toml["title"] == 'A "quoted": title\nwith a newline'


# --- file names --------------------------------------------------------------------------


def test_filename_templates_make_folders_and_page_bundles(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = invoke(
        "to-md", str(OPENSTACK), "--split", str(out), "--filename", "{date:%Y}/{date:%m}/{slug}.md"
    )
    assert result.exit_code == 0, result.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
    assert len(files) == 10
    assert all(len(f.split("/")) == 3 and f.split("/")[0].isdigit() for f in files), files
    bundles = tmp_path / "bundles"
    result = invoke(
        "to-md", str(OPENSTACK), "--split", str(bundles), "--filename", "{slug}/index.md"
    )
    assert result.exit_code == 0, result.stderr
    assert len(list(bundles.glob("*/index.md"))) == 10


def test_repeated_titles_get_unique_folders(tmp_path: Path) -> None:
    feed = _write_feed(
        tmp_path,
        _feed(
            "https://example.org",
            ("Same", "Mon, 01 Jan 2024 10:00:00 GMT", "<p>one</p>"),
            ("same", "Tue, 02 Jan 2024 10:00:00 GMT", "<p>two</p>"),
            ("Same", "Wed, 03 Jan 2024 10:00:00 GMT", "<p>three</p>"),
        ),
    )
    out = tmp_path / "out"
    result = invoke("to-md", str(feed), "--split", str(out), "--filename", "{slug}/index.md")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.parent.name for p in out.glob("*/index.md")) == ["same", "same-2", "same-3"]


@pytest.mark.parametrize(
    "template",
    ["../{slug}.md", "/etc/{slug}.md", "{slug}/../../x.md", "a/../../{slug}.md"],
)
def test_templates_never_leave_the_output_folder(tmp_path: Path, template: str) -> None:
    out = tmp_path / "out"
    result = invoke("to-md", str(OPENSTACK), "--split", str(out), "--filename", template)
    assert result.exit_code in (ExitCode.USAGE, ExitCode.OUTPUT_REFUSED), result.stderr
    assert "Traceback" not in result.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "template, message",
    [
        ("{title}.md", "unknown field"),
        ("{slug.upper}.md", "unknown field"),
        ("{slug!r}.md", "takes no format"),
        ("{date}.md", "needs {slug} or {index}"),
        ("{slug", "bad file name template"),
    ],
)
def test_bad_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_template(template)


def test_undated_posts_and_index_in_templates() -> None:
    from feedconv.model import Entry

    entries = [Entry(id="a", title="A"), Entry(id="b", title="B")]
    assert post_filenames(entries, "{date:%Y}/{index:03d}-{slug}.md") == [
        "undated/001-a.md",
        "undated/002-b.md",
    ]
    assert post_filenames(entries, "{year}/{index}.md") == ["undated/1.md", "undated/2.md"]


# --- re-runs -----------------------------------------------------------------------------


def test_rerun_writes_only_what_changed(tmp_path: Path) -> None:
    posts = [
        ("First", "Mon, 01 Jan 2024 10:00:00 GMT", "<p>one</p>"),
        ("Second", "Tue, 02 Jan 2024 10:00:00 GMT", "<p>two</p>"),
    ]
    feed = _write_feed(tmp_path, _feed("https://example.org", *posts))
    out = tmp_path / "out"
    assert invoke("to-md", str(feed), "--split", str(out)).stderr == "2 written, 0 unchanged\n"
    first = out / "2024-01-01-first.md"
    stamp = first.stat().st_mtime_ns
    # a new post is added, nothing else changed
    posts.append(("Third", "Wed, 03 Jan 2024 10:00:00 GMT", "<p>three</p>"))
    _write_feed(tmp_path, _feed("https://example.org", *posts))
    result = invoke("to-md", str(feed), "--split", str(out))
    assert (result.exit_code, result.stderr) == (0, "1 written, 2 unchanged\n")
    assert first.stat().st_mtime_ns == stamp
    # a post changed upstream: refused without --force, nothing written
    posts[1] = ("Second", "Tue, 02 Jan 2024 10:00:00 GMT", "<p>two, edited</p>")
    _write_feed(tmp_path, _feed("https://example.org", *posts))
    result = invoke("to-md", str(feed), "--split", str(out))
    assert result.exit_code == ExitCode.OUTPUT_REFUSED
    assert "2024-01-02-second.md" in result.stderr and "--force" in result.stderr
    assert "edited" not in (out / "2024-01-02-second.md").read_text(encoding="utf-8")
    result = invoke("to-md", str(feed), "--split", str(out), "--force")
    assert (result.exit_code, result.stderr) == (0, "1 written, 2 unchanged\n")
    assert "two, edited" in (out / "2024-01-02-second.md").read_text(encoding="utf-8")
    assert invoke("to-md", str(feed), "--split", str(out), "-q").stderr == ""


# --- images ------------------------------------------------------------------------------


def _image_feed(tmp_path: Path, server: str) -> Path:
    return _write_feed(
        tmp_path,
        _feed(
            "https://example.org",
            (
                "Pictures",
                "Mon, 01 Jan 2024 10:00:00 GMT",
                f'<p><img src="{server}/ok.png" alt="ok">'
                f' <img src="{server}/missing.png" alt="gone">'
                f' <img src="{server}/big.png" alt="big">'
                f' <img src="{server}/page.html" alt="html"></p>'
                f'<figure><img src="{server}/photo.jpg" alt="photo">'
                "<figcaption>Cap</figcaption></figure>",
            ),
            (
                "Again",
                "Tue, 02 Jan 2024 10:00:00 GMT",
                f'<p><img src="{server}/ok.png" alt="same"></p>',
            ),
        ),
    )


def test_images_download_next_to_each_post(tmp_path: Path, server: str) -> None:
    feed = _image_feed(tmp_path, server)
    out = tmp_path / "out"
    result = invoke(
        "to-md", str(feed), "--split", str(out), "--filename", "{slug}/index.md",
        "--images", "download", "--image-max-size", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    warnings = [
        line for line in result.stderr.splitlines() if line.startswith("feedconv: warning:")
    ]
    assert len(warnings) == 3, result.stderr  # missing (404), too big, not an image
    assert any("missing.png" in w and "404" in w for w in warnings)
    assert any("big.png" in w and "limit" in w for w in warnings)
    assert any("page.html" in w and "not a PNG" in w for w in warnings)
    assert result.stderr.endswith("5 written, 0 unchanged\n")
    post = (out / "pictures" / "index.md").read_text(encoding="utf-8")
    saved = sorted(p.name for p in (out / "pictures").iterdir() if p.name != "index.md")
    assert len(saved) == 2 and {p.rsplit(".", 1)[1] for p in saved} == {"png", "jpg"}
    for name in saved:
        assert f"]({name})" in post
    assert (out / "pictures" / next(n for n in saved if n.endswith(".png"))).read_bytes() == PNG
    # failed images keep their remote URL; the post is still written
    for name in ("missing.png", "big.png", "page.html"):
        assert f"({server}/{name})" in post
    assert "*Cap*" in post
    # the same image in another post: fetched once, saved next to that post too
    assert _Images.hits.count("/ok.png") == 1
    again = (out / "again" / "index.md").read_text(encoding="utf-8")
    assert "](" + next(n for n in saved if n.endswith(".png")) + ")" in again


def test_images_in_one_folder_with_obsidian_embeds(tmp_path: Path, server: str) -> None:
    feed = _image_feed(tmp_path, server)
    out = tmp_path / "vault"
    args = ["to-md", str(feed), "--split", str(out), "--flavor", "obsidian"]
    args += ["--filename", "{year}/{slug}.md", "--images", "download", "--images-dir", "assets"]
    result = invoke(*args, "--image-max-size", "1")
    assert result.exit_code == 0, result.stderr
    assets = sorted((out / "assets").iterdir())
    assert len(assets) == 2
    post = (out / "2024" / "pictures.md").read_text(encoding="utf-8")
    png = next(p.name for p in assets if p.suffix == ".png")
    assert f"![[../assets/{png}|ok]]" in post
    assert f"![big]({server}/big.png)" in post  # not downloaded: an ordinary image link
    # a second run fetches again but writes nothing
    rerun = invoke(*args, "--image-max-size", "1")
    assert rerun.exit_code == 0 and rerun.stderr.endswith("0 written, 4 unchanged\n")


def test_images_dir_must_stay_inside(tmp_path: Path, server: str) -> None:
    feed = _image_feed(tmp_path, server)
    result = invoke(
        "to-md", str(feed), "--split", str(tmp_path / "o"), "--images", "download",
        "--images-dir", "../outside",
    )  # fmt: skip
    assert result.exit_code == ExitCode.OUTPUT_REFUSED
    assert not (tmp_path / "outside").exists()
    assert _Images.hits == []


def test_images_dir_needs_download(tmp_path: Path) -> None:
    result = invoke("to-md", str(OPENSTACK), "--split", str(tmp_path), "--images-dir", "x")
    assert result.exit_code == ExitCode.USAGE


def test_image_timeout(tmp_path: Path) -> None:
    """A server that accepts but never answers: the image is given up after the timeout."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow.png"
    try:
        feed = _write_feed(
            tmp_path,
            _feed("https://e.org", ("Slow", "Mon, 01 Jan 2024 10:00:00 GMT", f'<img src="{url}">')),
        )
        out = tmp_path / "out"
        result = invoke(
            "to-md",
            str(feed),
            "--split",
            str(out),
            "--images",
            "download",
            "--image-timeout",
            "0.5",
        )
    finally:
        listener.close()
    assert result.exit_code == 0, result.stderr
    assert "slow.png" in result.stderr and "feedconv: warning:" in result.stderr
    assert f"]({url})" in (out / "2024-01-01-slow.md").read_text(encoding="utf-8")
