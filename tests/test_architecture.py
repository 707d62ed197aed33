"""The rules of direction in docs/DESIGN.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "feedconv"
MODULES = sorted(SRC.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_rules_of_direction(path: Path) -> None:
    name = module_name(path)
    used = imports(path)
    local = {u for u in used if u.startswith("feedconv")}
    assert not any(u.startswith("feedconv.cli") for u in local) or name == "feedconv.__main__"
    if name.startswith("feedconv.readers"):
        assert not any(u.startswith("feedconv.writers") for u in local), local
    if name.startswith("feedconv.writers"):
        assert not any(u.startswith("feedconv.readers") for u in local), local
    if name in ("feedconv.model", "feedconv.errors"):
        assert local == set(), local
    if name != "feedconv.cli":
        ui = {u for u in used if u.split(".")[0] in ("click", "rich")}
        assert ui == set(), f"{name} imports {ui}: only cli.py talks to the terminal"
