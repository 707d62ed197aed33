"""Safe output: portable names, paths kept inside the folder, atomic writes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from feedconv.cli import ExitCode, cli
from feedconv.errors import OutputError
from feedconv.writers import _files
from feedconv.writers._files import atomic_file, atomic_write, safe_join, slugify, unique_names

RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))} | {
    f"lpt{i}" for i in range(10)
}
WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
ROOT = Path(__file__).resolve().parent.parent


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_slugs_are_portable_file_names(text: str) -> None:
    slug = slugify(text)
    assert slug
    assert len(slug.encode("utf-8")) <= 80
    assert not slug.startswith((".", "-")) and not slug.endswith((".", " ", "-"))
    assert not (set(slug) & WINDOWS_FORBIDDEN)
    assert all(ch.isprintable() and not ch.isspace() for ch in slug)
    assert slug.split(".")[0].casefold() not in RESERVED


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(min_size=1))
def test_safe_join_never_leaves_the_folder(tmp_path_factory, name: str) -> None:
    root = tmp_path_factory.mktemp("out")
    try:
        target = safe_join(root, name)
    except OutputError:
        return
    resolved = target.resolve()
    assert resolved == root.resolve() or root.resolve() in resolved.parents


@pytest.mark.parametrize("name", ["CON", "nul", "Com1", "LPT9", "aux"])
def test_reserved_device_names_are_avoided(name: str) -> None:
    assert slugify(name).casefold() not in RESERVED


def test_unique_names_ignore_case() -> None:
    assert unique_names(["a.md", "A.md", "a.md"]) == ["a.md", "A-2.md", "a-3.md"]


def test_atomic_write_refuses_to_overwrite_and_to_follow_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old")
    with pytest.raises(OutputError, match="already exists"):
        atomic_write(target, b"new")
    assert target.read_text() == "old"
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("precious")
    link = tmp_path / "link.md"
    link.symlink_to(outside)
    with pytest.raises(OutputError, match="symbolic link"):
        atomic_write(link, b"new")
    atomic_write(link, b"new", force=True)
    assert outside.read_text() == "precious", "a forced write replaces the link, not its target"
    assert link.read_bytes() == b"new" and not link.is_symlink()


def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "book.epub"

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_files.os, "replace", disk_full)
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write(target, b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_atomic_file_keeps_nothing_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "book.epub"
    target.write_bytes(b"the old book")
    with pytest.raises(ValueError, match="half way"), atomic_file(target, force=True) as handle:
        handle.write(b"the first chapters")
        raise ValueError("half way")
    assert target.read_bytes() == b"the old book"
    assert [p.name for p in tmp_path.iterdir()] == ["book.epub"]
    with atomic_file(target, force=True) as handle:
        handle.write(b"new ")
        handle.seek(0)  # a zip writer seeks back to finish its headers
        handle.write(b"NEW")
    assert target.read_bytes() == b"NEW "


def test_unwritable_destination_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(
        cli, ["to-md", str(ROOT / "examples" / "field-notes.atom"), "--split", str(blocker / "x")]
    )
    assert result.exit_code == ExitCode.OUTPUT_REFUSED, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("feedconv: error: ")
    assert blocker.read_text() == "not a folder"


def _wait_until_reading_stdin(pid: int, timeout: float = 20.0) -> None:
    """Wait until the process blocks reading its stdin pipe (Linux: /proc wchan)."""
    deadline = time.monotonic() + timeout
    wchan = Path(f"/proc/{pid}/wchan")
    while time.monotonic() < deadline:
        try:
            if "pipe" in wchan.read_text():
                return
        except OSError:
            pass
        time.sleep(0.05)


def test_ctrl_c_exits_130_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedconv", "to-json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A test runner may ignore SIGINT, and children inherit that: give it back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_until_reading_stdin(proc.pid)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        assert proc.stdin is not None
        proc.stdin.close()
    assert proc.returncode == ExitCode.INTERRUPTED, err.decode()
    assert out == b""
    assert b"Traceback" not in err
    assert err.decode().strip() == "feedconv: interrupted"
