"""How faithfully ``feedconv to-md`` converts feed HTML, next to pandoc, html2text and
markdownify, scored by the shared HTML → Markdown fidelity tool.

    python benchmarks/fidelity.py [--tool ../shared/tools/fidelity] [--corpus both]
                                  [--write docs/fidelity.md]

Runs the tool's ``baselines.py`` twice in feed mode, exactly the way the commands are used:

1. ``feedconv to-md FEED -o OUT`` (one document) beside the default baselines
   ``pandoc -t gfm-raw_html``, ``html2text`` and ``markdownify``;
2. ``feedconv to-md FEED --split DIR`` (one file per post) on its own;

and then scores the cleaner and converter alone, item by item in this process
(``clean_fragment`` then ``html_to_markdown`` on the tool's own copy of each body), which
leaves out what the feed readers repair before conversion (e.g. HTML escaped twice).

The tool (``--tool``, default ``../shared/tools/fidelity`` relative to this repository)
needs ``markdown-it-py``, ``mdit-py-plugins``, ``html5lib`` and ``html2text`` in this
Python, and ``pandoc`` on PATH for the pandoc row. The tables go to stdout, and with
``--write FILE`` into a Markdown page together with the command that made them.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINES = "pandoc-gfm-raw_html,html2text,markdownify"


def _run(tool: Path, corpus: str, cmd: str, name: str, builtin: bool) -> str:
    args = [
        sys.executable,
        str(tool / "baselines.py"),
        "--corpus",
        corpus,
        "--cmd-mode",
        "feed",
        "--cmd",
        cmd,
        "--cmd-name",
        name,
        "--explain",
        "",
    ]
    args += ["--only", BASELINES] if builtin else ["--no-builtin"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"fidelity: baselines.py failed:\n{done.stderr}")
    return done.stdout


def _converter_only(tool: Path, corpus: str) -> str:
    """Mean, worst-10% and per-dimension means of clean_fragment + html_to_markdown."""
    sys.path.insert(0, str(tool))
    sys.path.insert(0, str(ROOT / "src"))
    import score  # the tool's scorer

    from feedconv.htmlclean import clean_fragment
    from feedconv.markdown import html_to_markdown

    dims = ["text", "block", "marks", "links", "images", "tables", "code", "extras"]
    head = "| corpus | items | score | worst10% | " + " | ".join(dims) + " |"
    lines = [head, "|---|---:|---:|---:|" + "---:|" * len(dims)]
    for name in ("seed", "public") if corpus == "both" else (corpus,):
        args = [sys.executable, str(tool / "corpus.py")]
        args += ["--corpus", "seed"] if name == "seed" else []
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        results = []
        for line in done.stdout.splitlines():
            item = json.loads(line)
            base = item.get("base") or item.get("link") or ""
            cleaned = clean_fragment(item["html"], base or None)
            markdown = html_to_markdown(cleaned, page_url=item.get("link"))
            results.append(score.score(item["html"], markdown, base)["final"])
        combined = sorted(r["combined"] for r in results)
        worst = combined[: math.ceil(len(combined) / 10)]
        cells = []
        for dim in dims:
            values = [r[dim] for r in results if r[dim] is not None]
            cells.append(f"{100 * statistics.mean(values):.1f}" if values else "n/a")
        lines.append(
            f"| {name} | {len(results)} | {statistics.mean(combined):.1f} |"
            f" {statistics.mean(worst):.1f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def _tables(output: str) -> str:
    """The tool's tables without its timing columns' noise lines."""
    keep = []
    for line in output.splitlines():
        if line.startswith("(load average"):
            continue
        keep.append(line)
    return "\n".join(keep).strip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tool",
        type=Path,
        default=ROOT.parent / "shared" / "tools" / "fidelity",
        help="folder of the fidelity tool (default: ../shared/tools/fidelity)",
    )
    parser.add_argument("--corpus", default="both", choices=["seed", "public", "both"])
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write a Markdown page")
    args = parser.parse_args(argv)
    if not (args.tool / "baselines.py").is_file():
        parser.error(f"{args.tool}: no baselines.py there (use --tool)")
    feedconv = f"{shlex.quote(sys.executable)} -m feedconv"
    document = _run(
        args.tool, args.corpus, f"{feedconv} to-md {{feed}} -o {{out}}", "feedconv", True
    )
    split = _run(
        args.tool,
        args.corpus,
        f"{feedconv} to-md {{feed}} --split {{outdir}}",
        "feedconv-split",
        False,
    )
    report = (
        "## One document: `feedconv to-md FEED -o OUT`\n\n"
        + _tables(document)
        + "\n## One file per post: `feedconv to-md FEED --split DIR`\n\n"
        + _tables(split)
        + "\n## Cleaner and converter alone, item by item\n\n"
        + _converter_only(args.tool, args.corpus)
    )
    print(report)
    if args.write:
        command = "python benchmarks/fidelity.py" + (
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
