"""The README tells the truth: generated usage, the CI command, and working examples."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_usage_blocks_match_help_output():
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        "README usage blocks are stale: run `.venv/bin/cog -r README.md`\n" + result.stderr
    )


def test_ci_runs_the_readme_test_command():
    setup = sh_blocks(README)
    assert len(setup) >= 2
    test_command = setup[1].strip()
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_first_command_runs_the_main_job_on_examples():
    first = sh_blocks(README)[0].strip()
    assert "examples/" in first and "feedconv" in first


def example_commands() -> list[str]:
    """The README's example commands (blocks after the two set-up commands)."""
    commands = []
    for block in sh_blocks(README)[2:]:
        commands += [line for line in block.splitlines() if line.startswith(".venv/bin/feedconv")]
    return commands


@pytest.mark.parametrize("command", example_commands())
def test_readme_example_commands_work(command, tmp_path):
    argv = shlex.split(command.split(">")[0])
    argv = [sys.executable, "-m", "feedconv", *argv[1:]]
    argv = [str(ROOT / a) if a.startswith("examples/") else a for a in argv]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout or any(tmp_path.iterdir())
