"""Shared pytest configuration for feedconv's tests."""

from __future__ import annotations

import pytest

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


# --- HTTP cache: every test gets its own XDG_CACHE_HOME ---------------------------------
# feedconv keeps its conditional-GET cache under $XDG_CACHE_HOME/feedconv/http; no test
# may read or write the user's real cache (subprocesses inherit the variable).


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache-home")))


# --- end of HTTP cache block ------------------------------------------------------------
