"""How faithfully ``feedconv to-md`` converts feed HTML, next to pandoc, html2text and
markdownify, scored by an HTML → Markdown fidelity scorer.

    python benchmarks/fidelity.py --tool DIR [--corpus both] [--write docs/fidelity.md]

Runs the tool's ``baselines.py`` twice in feed mode, exactly the way the commands are used:

1. ``feedconv to-md FEED -o OUT`` (one document) beside the default baselines
   ``pandoc -t gfm-raw_html``, ``html2text`` and ``markdownify``;
2. ``feedconv to-md FEED --split DIR`` (one file per post) on its own;

then scores the same runs without the items feedconv's readers repair on purpose before
conversion (double-encoded UTF-8 is decoded): the tool takes those items' literal text
as their source, so a faithful repair scores low there.
They are found, not listed: an item is left out when the body feedconv reads from the
tool's own synthetic feed differs from the cleaned body of the tool's copy of the item.
Last, the cleaner and converter alone are scored item by item in this process
(``clean_fragment`` then ``html_to_markdown`` on the tool's copy of each body).

The tool (``--tool``: the scorer's folder, holding ``baselines.py``, ``corpus.py`` and
``score.py``; or the ``FEEDCONV_FIDELITY_TOOL`` environment variable) needs
``markdown-it-py``, ``mdit-py-plugins``, ``html5lib`` and ``html2text`` in this Python,
and ``pandoc`` on PATH for the pandoc row. The tables go to stdout, and with
``--write FILE`` into a Markdown page together with the command that made them.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINES = "pandoc-gfm-raw_html,html2text,markdownify"
DIMS = ["text", "block", "marks", "links", "images", "tables", "code", "extras"]


def _run(tool: Path, corpus: str, cmd: str, name: str, builtin: bool) -> tuple[str, dict]:
    """The tool's tables for one command and its per-item scores (from --json-out)."""
    with tempfile.TemporaryDirectory() as work:
        scores = Path(work) / "scores.json"
        args = [sys.executable, str(tool / "baselines.py"), "--corpus", corpus]
        args += ["--cmd-mode", "feed", "--cmd", cmd, "--cmd-name", name, "--explain", ""]
        args += ["--json-out", str(scores)]
        args += ["--only", BASELINES] if builtin else ["--no-builtin"]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"fidelity: baselines.py failed:\n{done.stderr}")
        return done.stdout, json.loads(scores.read_text(encoding="utf-8"))


def _corpus_items(tool: Path, name: str) -> list[dict[str, Any]]:
    args = [sys.executable, str(tool / "corpus.py")]
    args += ["--corpus", "seed"] if name == "seed" else []
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def _repaired(tool: Path, name: str, items: list[dict[str, Any]]) -> set[str]:
    """Ids of the items whose body feedconv's readers change before cleaning."""
    from feedconv.htmlclean import clean_fragment
    from feedconv.readers import read_feed

    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "corpus.xml"
        args = [sys.executable, str(tool / "baselines.py"), "--corpus", name]
        subprocess.run([*args, "--write-feed", str(path)], capture_output=True, check=True)
        logging.disable(logging.WARNING)  # the readers report their repairs
        try:
            feed = read_feed(path.read_bytes(), url=path.as_uri())
        finally:
            logging.disable(logging.NOTSET)
    repaired = set()
    for entry in feed.entries:
        index = int((entry.title or "").rpartition("-")[2]) - 1  # FCITEM-000001 is item 0
        item = items[index]
        base = item.get("base") or item.get("link") or None
        if (entry.content_html or "") != clean_fragment(item["html"], base):
            repaired.add(item["id"])
    return repaired


def _summary(per_item: list[dict[str, Any]]) -> dict[str, Any]:
    combined = sorted(r["final"]["combined"] for r in per_item)
    worst = combined[: max(1, math.ceil(len(combined) / 10))]
    row: dict[str, Any] = {
        "n": len(per_item),
        "score": statistics.mean(combined),
        "worst": statistics.mean(worst),
    }
    for dim in DIMS:
        values = [r["final"][dim] for r in per_item if r["final"][dim] is not None]
        row[dim] = 100 * statistics.mean(values) if values else None
    return row


def _row(name: str, row: dict[str, Any]) -> str:
    cells = [f"{row[d]:.1f}" if row[d] is not None else "n/a" for d in DIMS]
    return (
        f"| {name} | {row['n']} | {row['score']:.1f} | {row['worst']:.1f} | "
        + " | ".join(cells)
        + " |"
    )


def _head(first: str) -> list[str]:
    return [
        f"| {first} | items | score | worst10% | " + " | ".join(DIMS) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(DIMS),
    ]


def _without(scores: dict, corpus: str, repaired: set[str]) -> str:
    """Every converter's figures over the items no reader repairs, and the dimensions
    where feedconv is more than 0.5 below the best baseline (with and without them)."""
    lines = _head("converter")
    rows = {}
    for name, result in scores[corpus].items():
        kept = [r for r in result["items"] if r["id"] not in repaired]
        rows[name] = (_summary(result["items"]), _summary(kept))
        lines.append(_row(name, rows[name][1]))
    notes = []
    for label, which in (("all items", 0), ("without the repaired items", 1)):
        below = []
        for dim in DIMS:
            ours = rows["feedconv"][which][dim]
            best = max(
                (row[which][dim] for n, row in rows.items() if n != "feedconv" and row[which][dim]),
                default=None,
            )
            if ours is not None and best is not None and ours < best - 0.5:
                below.append(f"{dim} {ours:.1f} (best {best:.1f})")
        notes.append(f"- {label}: " + ("; ".join(below) if below else "none"))
    left_out = ", ".join(f"`{item}`" for item in sorted(repaired)) or "none"
    return (
        f"Items left out ({len(repaired)}): {left_out}.\n\n"
        + "\n".join(lines)
        + "\n\nDimensions where feedconv is more than 0.5 below the best of the three:\n\n"
        + "\n".join(notes)
        + "\n"
    )


def _converter_only(tool: Path, corpus: str, items: list[dict[str, Any]]) -> str:
    """Mean, worst-10% and per-dimension means of clean_fragment + html_to_markdown."""
    sys.path.insert(0, str(tool))
    import score  # the tool's scorer

    from feedconv.htmlclean import clean_fragment
    from feedconv.markdown import html_to_markdown

    results = []
    for item in items:
        base = item.get("base") or item.get("link") or ""
        cleaned = clean_fragment(item["html"], base or None)
        markdown = html_to_markdown(cleaned, page_url=item.get("link"))
        results.append({"final": score.score(item["html"], markdown, base)["final"]})
    return _row(corpus, _summary(results))


def _tables(output: str) -> str:
    """The tool's tables without its timing columns' noise lines."""
    keep = [line for line in output.splitlines() if not line.startswith("(load average")]
    return "\n".join(keep).strip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tool",
        type=Path,
        default=os.environ.get("FEEDCONV_FIDELITY_TOOL"),
        help="folder of the fidelity scorer (default: $FEEDCONV_FIDELITY_TOOL)",
    )
    parser.add_argument("--corpus", default="both", choices=["seed", "public", "both"])
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write a Markdown page")
    args = parser.parse_args(argv)
    if args.tool is None or not (Path(args.tool) / "baselines.py").is_file():
        parser.error("give --tool DIR, the fidelity scorer's folder (it holds baselines.py)")
    args.tool = Path(args.tool)
    if not (args.tool / "baselines.py").is_file():
        parser.error(f"{args.tool}: no baselines.py there (use --tool)")
    sys.path.insert(0, str(ROOT / "src"))
    feedconv = f"{shlex.quote(sys.executable)} -m feedconv"
    document, scores = _run(
        args.tool, args.corpus, f"{feedconv} to-md {{feed}} -o {{out}}", "feedconv", True
    )
    split, _ = _run(
        args.tool,
        args.corpus,
        f"{feedconv} to-md {{feed}} --split {{outdir}}",
        "feedconv-split",
        False,
    )
    corpora = ("seed", "public") if args.corpus == "both" else (args.corpus,)
    without = []
    alone = _head("corpus")
    for corpus in corpora:
        items = _corpus_items(args.tool, corpus)
        repaired = _repaired(args.tool, corpus, items)
        without.append(f"### {corpus}\n\n" + _without(scores, corpus, repaired))
        alone.append(_converter_only(args.tool, corpus, items))
    report = (
        "## One document: `feedconv to-md FEED -o OUT`\n\n"
        + _tables(document)
        + "\n## One file per post: `feedconv to-md FEED --split DIR`\n\n"
        + _tables(split)
        + "\n## One document, without the items the readers repair on purpose\n\n"
        + "\n".join(without)
        + "\n## Cleaner and converter alone, item by item\n\n"
        + "\n".join(alone)
        + "\n"
    )
    print(report)
    if args.write:
        command = "python benchmarks/fidelity.py --tool DIR" + (
            f" --corpus {args.corpus}" if args.corpus != "both" else ""
        )
        head = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
        marker = "<!-- measured tables below: written by benchmarks/fidelity.py -->"
        intro = head.split(marker)[0] if marker in head else "# Fidelity\n\n"
        page = f"{intro}{marker}\n\nMeasured with `{command}`.\n\n{report}"
        args.write.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
