"""Shell habits: -o - for stdout, --quiet/--verbose anywhere, completion, --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedconv import __version__
from feedconv.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ATOM = ROOT / "examples" / "field-notes.atom"
DATA = Path(__file__).resolve().parent / "data" / "merge"
MISSING = "/nonexistent/feedconv/feed.xml"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="feedconv")


def test_dash_output_means_stdout_for_every_command(tmp_path):
    as_json = invoke("to-json", str(ATOM), "-o", "-")
    assert json.loads(as_json.stdout)["title"] == "Field Notes"
    as_md = invoke("to-md", str(ATOM), "-o", "-")
    assert as_md.exit_code == 0 and as_md.stdout.startswith("# Field Notes\n")
    book = CliRunner().invoke(cli, ["to-epub", str(ATOM), "-o", "-"])
    assert book.exit_code == 0, book.stderr
    assert (
        book.stdout_bytes.startswith(b"PK\x03\x04")
        and b"mimetypeapplication/epub+zip" in (book.stdout_bytes[:80])
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_warnings_before_or_after_the_command(where):
    args = ["to-json", str(DATA / "blog.rss"), MISSING]
    quiet = ["-q", *args] if where == "before" else [*args, "--quiet"]
    loud = invoke(*args)
    assert loud.exit_code == 0 and "warning: " in loud.stderr
    silent = invoke(*quiet)
    assert silent.exit_code == 0
    assert silent.stderr == ""
    assert silent.stdout == loud.stdout


def test_quiet_still_shows_errors():
    result = invoke("to-json", MISSING, "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith("feedconv: error: ")


def test_verbose_says_what_happened():
    result = invoke(
        "to-json", str(DATA / "blog.rss"), str(DATA / "blog.atom"), "--limit", "2", "-v"
    )
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert "feedconv: info: selected 2 of 5 items" in lines
    assert any("item 'Alpha' is also in Harbour Blog; kept once" in line for line in lines)


def test_version_flag():
    for flag in ("--version", "-V"):
        result = invoke(flag)
        assert result.stdout == f"feedconv, version {__version__}\n"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_script_is_generated(shell):
    env = {**os.environ, "_FEEDCONV_COMPLETE": f"{shell}_source"}
    result = subprocess.run(
        [sys.executable, "-m", "feedconv"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "_FEEDCONV_COMPLETE" in result.stdout
    assert "_feedconv_completion" in result.stdout


def test_completion_knows_the_shared_options():
    env = {
        **os.environ,
        "_FEEDCONV_COMPLETE": "bash_complete",
        "COMP_WORDS": "feedconv to-epub --or",
        "COMP_CWORD": "2",
    }
    result = subprocess.run(
        [sys.executable, "-m", "feedconv"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["plain,--order"]


def test_a_reader_that_stops_early_gives_exit_0_and_no_state_update(tmp_path):
    state = tmp_path / "seen.json"
    many = [str(ROOT / "examples" / name) for name in ("openstack.xml", "release-log.json")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedconv", "to-md", *many, "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -n 1`
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0, err.decode()
    assert first.startswith(b"# ")
    assert err == b""
    assert not state.exists()  # the output was not complete: nothing is remembered


def test_standard_input_is_read_once():
    result = invoke("to-json", "-", "--opml", "-")
    assert result.exit_code == 2
    assert "standard input (-) can be read only once" in result.stderr
