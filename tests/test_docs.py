"""The README tells the truth: generated usage, the CI command, and working examples."""

from __future__ import annotations

import re
import shlex
import shutil
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


def section(title: str) -> str:
    """The text of one "## title" section of the README."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


RECIPES = section("Recipes")


def example_commands() -> list[str]:
    """The README's example commands (blocks after the two set-up commands), except the
    recipes, which are whole shell snippets run by `test_readme_recipes_run`."""
    commands = []
    for block in sh_blocks(README.replace(RECIPES, ""))[2:]:
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


# --- recipes: each ```sh block of the Recipes section runs, as it is, in bash -------------


def test_readme_has_recipes_for_cron_and_pipes():
    blocks = sh_blocks(RECIPES)
    assert len(blocks) >= 5
    assert "crontab" in RECIPES and "--state" in RECIPES
    assert any(" | " in block for block in blocks)


@pytest.mark.parametrize("block", sh_blocks(RECIPES), ids=lambda b: b.split("\n")[0][:60])
def test_readme_recipes_run(block, tmp_path):
    """Run the recipe text unchanged under `bash -euo pipefail` in an empty folder that
    has `examples/` and a `.venv/bin/feedconv` running this checkout's feedconv."""
    bash = shutil.which("bash")
    assert bash, "bash is needed to run the README recipes"
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    launcher = tmp_path / ".venv" / "bin" / "feedconv"
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m feedconv "$@"\n')
    launcher.chmod(0o755)
    result = subprocess.run(
        [bash, "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "error:" not in result.stderr and "warning:" not in result.stderr, result.stderr
    made = {p.name for p in tmp_path.iterdir()} - {"examples", ".venv"}
    assert result.stdout or made
