"""Reading feeds from URLs, against a server started on 127.0.0.1 by the test."""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from feedconv.cli import ExitCode, cli
from feedconv.errors import InputError
from feedconv.sources import USER_AGENT, load

ROOT = Path(__file__).resolve().parent.parent
OPENSTACK = (ROOT / "examples" / "openstack.xml").read_bytes()
RELATIVE = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Rel</title>
<item><title>One</title><link>/posts/one/</link>
<description>&lt;img src="pic.png" alt="p"&gt;&lt;a href="../two/"&gt;two&lt;/a&gt;</description>
</item></channel></rss>"""


class Handler(BaseHTTPRequestHandler):
    seen_agents: ClassVar[list[str]] = []
    seen: ClassVar[list[tuple[str, str | None, str | None]]] = []  # path, INM, IMS
    etag_body: ClassVar[bytes] = OPENSTACK

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        Handler.seen.append((self.path, inm, ims))
        if self.path == "/etag":
            etag = f'"v-{zlib.crc32(Handler.etag_body)}"'
            if inm == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._send(200, Handler.etag_body, "application/rss+xml", extra={"ETag": etag})
        elif self.path == "/lastmod":
            stamp = "Sat, 20 Apr 2019 00:03:50 GMT"
            if ims == stamp:
                self.send_response(304)
                self.end_headers()
                return
            body = gzip.compress(RELATIVE)
            extra = {"Last-Modified": stamp}
            self._send(200, body, "application/rss+xml", encoding="gzip", extra=extra)
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/lastmod")
            self.end_headers()
        elif self.path == "/to-ftp":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1:9/feed.xml")
            self.end_headers()
        elif self.path == "/deflate":
            self._send(200, zlib.compress(OPENSTACK), "application/rss+xml", encoding="deflate")
        elif self.path == "/feed.xml":
            self._send(200, OPENSTACK, "application/rss+xml")
        elif self.path == "/blog/feed/rel.xml":
            self._send(200, RELATIVE, "application/rss+xml")
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/blog/feed/rel.xml")
            self.end_headers()
        elif self.path == "/gzip":
            self._send(200, gzip.compress(OPENSTACK), "application/rss+xml", encoding="gzip")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, OPENSTACK, "application/rss+xml")
        elif self.path == "/big":
            self._send(200, b"<rss>" + b" " * 5000 + b"</rss>", "application/rss+xml")
        else:
            self._send(404, b"not here", "text/plain")

    def _send(
        self,
        code: int,
        body: bytes,
        ctype: str,
        encoding: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_fetch_feed_over_http(server):
    result = CliRunner().invoke(cli, ["to-json", f"{server}/feed.xml"])
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["items"]) == 10
    assert Handler.seen_agents[-1] == USER_AGENT


def test_redirect_is_followed_and_relative_urls_use_the_final_url(server):
    result = CliRunner().invoke(cli, ["to-json", f"{server}/moved"])
    assert result.exit_code == 0, result.stderr
    item = json.loads(result.stdout)["items"][0]
    assert item["url"] == f"{server}/posts/one/"
    assert f'src="{server}/posts/one/pic.png"' in item["content_html"]
    assert f'href="{server}/posts/two/"' in item["content_html"]


def test_gzip_body_is_decoded(server):
    source = load(f"{server}/gzip")
    assert source.data == OPENSTACK


def test_http_error_is_one_line(server):
    result = CliRunner().invoke(cli, ["to-json", f"{server}/missing"])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stderr.strip() == f"feedconv: error: {server}/missing: HTTP error 404 Not Found"


def test_size_cap(server):
    with pytest.raises(InputError, match="limit"):
        load(f"{server}/big", max_bytes=1000)


def test_connection_refused_is_one_line():
    result = CliRunner().invoke(cli, ["to-json", "http://127.0.0.1:9/feed.xml"])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stderr.startswith("feedconv: error: http://127.0.0.1:9/feed.xml: cannot fetch")
    assert len(result.stderr.splitlines()) == 1


def test_file_url(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(OPENSTACK)
    assert load(path.as_uri()).data == OPENSTACK


def test_unsupported_scheme():
    with pytest.raises(InputError, match="unsupported URL scheme"):
        load("ftp://example.org/feed.xml")


def test_timeout_is_one_clean_error(server):
    started = time.monotonic()
    with pytest.raises(InputError, match=r"timed out|cannot fetch"):
        load(f"{server}/slow", timeout=0.3)
    assert time.monotonic() - started < 1.5


# --- more of HTTP: deflate, redirects, the conditional-GET cache ---------------------------


def test_deflate_body_is_decoded(server):
    assert load(f"{server}/deflate").data == OPENSTACK


def test_redirect_to_a_non_http_url_is_refused(server):
    # urllib itself would follow a redirect to ftp://
    result = CliRunner().invoke(cli, ["to-json", f"{server}/to-ftp"])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"feedconv: error: {server}/to-ftp: redirected to a URL that is not http(s):"
        " ftp://127.0.0.1:9/feed.xml"
    )


def test_timeout_option_on_the_command_line(server):
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["to-json", f"{server}/slow", "--timeout", "0.3"])
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert result.stderr.startswith(f"feedconv: error: {server}/slow: ")
    assert len(result.stderr.splitlines()) == 1
    assert time.monotonic() - started < 1.5


def test_oversized_body_from_a_server_is_refused_cleanly(server):
    with pytest.raises(InputError, match=r"/big: input is larger than the 1,000-byte limit"):
        load(f"{server}/big", max_bytes=1000)
    gzipped = gzip.compress(b"<rss>" + b" " * 50_000 + b"</rss>")
    assert len(gzipped) < 1000  # the cap applies to the decoded body too
    assert b"limit" not in gzipped


def test_conditional_get_with_etag_answers_304_from_the_cache(server, tmp_path):
    cache = tmp_path / "http"
    Handler.etag_body = OPENSTACK
    first = load(f"{server}/etag", cache_dir=cache)
    assert first.data == OPENSTACK
    assert Handler.seen[-1] == ("/etag", None, None)
    assert len(list(cache.iterdir())) == 2  # the body and its validators

    second = load(f"{server}/etag", cache_dir=cache)
    assert Handler.seen[-1] == ("/etag", f'"v-{zlib.crc32(OPENSTACK)}"', None)
    assert second == first  # 304: the cached copy, same bytes and base URL

    Handler.etag_body = OPENSTACK.replace(b"openstack", b"OpenStack")
    changed = load(f"{server}/etag", cache_dir=cache)
    assert changed.data == Handler.etag_body  # a new ETag: the new body
    Handler.etag_body = OPENSTACK


def test_last_modified_after_a_redirect_keeps_the_final_url(server, tmp_path):
    cache = tmp_path / "http"
    first = load(f"{server}/hop", cache_dir=cache)
    assert first.url == f"{server}/lastmod" and first.data == RELATIVE
    second = load(f"{server}/hop", cache_dir=cache)
    assert Handler.seen[-2:] == [
        ("/hop", None, "Sat, 20 Apr 2019 00:03:50 GMT"),
        ("/lastmod", None, "Sat, 20 Apr 2019 00:03:50 GMT"),
    ]
    assert second == first


def test_a_damaged_cache_entry_is_ignored(server, tmp_path):
    cache = tmp_path / "http"
    load(f"{server}/etag", cache_dir=cache)
    for body in cache.glob("*.body"):
        body.write_bytes(b"<rss>tampered</rss>")
    again = load(f"{server}/etag", cache_dir=cache)
    assert Handler.seen[-1] == ("/etag", None, None)  # no conditional GET on bad data
    assert again.data == OPENSTACK


def test_cli_caches_under_xdg_cache_home_and_no_cache_skips_it(server, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(cli, ["to-json", f"{server}/etag"])
    assert first.exit_code == 0, first.stderr
    assert len(list((tmp_path / "feedconv" / "http").iterdir())) == 2
    second = runner.invoke(cli, ["-v", "to-json", f"{server}/etag"])
    assert second.exit_code == 0
    assert second.stdout == first.stdout
    assert "not modified since the last fetch; using the cached copy" in second.stderr
    fresh = runner.invoke(cli, ["to-json", f"{server}/etag", "--no-cache"])
    assert fresh.stdout == first.stdout
    assert Handler.seen[-1] == ("/etag", None, None)
