"""Reading feeds from URLs, against a server started on 127.0.0.1 by the test."""

from __future__ import annotations

import gzip
import json
import threading
import time
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

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        Handler.seen_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/feed.xml":
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

    def _send(self, code: int, body: bytes, ctype: str, encoding: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
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
