"""Real processes in real pipes: stdout carries data only, a closed pipe is quiet."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENSTACK = ROOT / "examples" / "openstack.xml"
FEEDCONV = [sys.executable, "-m", "feedconv"]

FILTER = (
    "import json, sys; doc = json.load(sys.stdin); "
    "doc['items'] = [i for i in doc['items'] if i['date_published'] >= '2018']; "
    "json.dump(doc, sys.stdout)"
)


def test_to_json_filter_to_epub_pipe(tmp_path):
    book = tmp_path / "x.epub"
    to_json = subprocess.Popen([*FEEDCONV, "to-json", str(OPENSTACK)], stdout=subprocess.PIPE)
    filt = subprocess.Popen(
        [sys.executable, "-c", FILTER], stdin=to_json.stdout, stdout=subprocess.PIPE
    )
    assert to_json.stdout is not None
    to_json.stdout.close()
    to_epub = subprocess.run(
        [*FEEDCONV, "to-epub", "-", "-o", str(book)],
        stdin=filt.stdout,
        capture_output=True,
        timeout=120,
    )
    assert filt.stdout is not None
    filt.stdout.close()
    assert filt.wait(60) == 0 and to_json.wait(60) == 0
    assert to_epub.returncode == 0, to_epub.stderr
    assert to_epub.stdout == b""
    with zipfile.ZipFile(book) as z:
        names = z.namelist()
        spine = z.read("EPUB/content.opf").decode()
    chapters = [n for n in names if n.startswith("EPUB/text/p")]
    assert names[0] == "mimetype"
    expected = [
        i
        for i in json.loads(_run("to-json", str(OPENSTACK)))["items"]
        if i["date_published"] >= "2018"
    ]
    assert 0 < len(expected) < 10
    assert len(chapters) == len(expected)
    assert all(n.rsplit("/", 1)[1] in spine for n in chapters)


def _run(*args: str) -> str:
    return subprocess.run(
        [*FEEDCONV, *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def test_broken_pipe_is_quiet():
    proc = subprocess.Popen(
        f"{sys.executable} -m feedconv to-md {OPENSTACK} | head -n 1",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert out.decode().startswith("# graham.hayes.ie")
    assert err == b"", err.decode()


def test_warnings_go_to_stderr_and_data_to_stdout(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_bytes(
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>A&nbsp;B</title><link>https://example.org/a</link>"
        b"<description>x</description></item></channel></rss>"
    )
    result = subprocess.run(
        [*FEEDCONV, "to-json", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert (
        json.loads(result.stdout)["items"][0]["title"] == "A\u00a0B"
        or json.loads(result.stdout)["items"][0]["title"] == "A B"
    )
    assert result.stderr.startswith("feedconv: warning: ")
    assert len(result.stderr.splitlines()) == 1
