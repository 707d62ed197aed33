"""Speed and memory of feedconv against its peers, every command run as a whole process.

    python benchmarks/speed.py [--repeat 3] [--sizes 1000,10000,50000] [--out FILE]

Generates feeds of 1k, 10k and 50k posts (benchmarks/make_feed.py), then measures, each
run as its own process with its wall time and peak RSS (the largest single process):

- to-md of 1k posts against pandoc (HTML → GFM, one process over the same bodies) and
  against markdownify's and html2text's defaults in a plain loop over the bodies;
- to-epub of 1k posts against pandoc's EPUB writer on the same bodies;
- to-json of 10k posts against a bare lxml parse of the same file;
- to-epub of 10k posts: time, and peak memory next to the book's and the feed's size;
- peak memory of `to-md --split` and `to-json --lines` at 10k and 50k posts;
- `feedconv --help`.

Prints a Markdown report with medians and ratios (and writes it to --out). pandoc is
optional: without it its rows are skipped. Nothing here reaches the network.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PY = sys.executable
FEEDCONV = [PY, "-m", "feedconv"]

# Runs one command in a child and prints its wall time and the peak RSS of the child
# (and of the processes it waited for), so that each measurement is isolated.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps([proc.returncode, elapsed, peak, proc.stderr.decode()[-400:]]))
"""

# In-process loops of the peers over the bodies (the conversion only, not the parse).
_LOOP = """
import json, sys, time
from lxml import etree
bodies = []
for item in etree.parse(sys.argv[2]).iter("item"):
    body = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    bodies.append(body if body is not None else item.findtext("description") or "")
if sys.argv[1] == "markdownify":
    from markdownify import markdownify as convert
else:
    import html2text
    convert = html2text.html2text
started = time.process_time()
for body in bodies:
    convert(body)
print(json.dumps(time.process_time() - started))
"""


def measure(command: list[str], repeat: int) -> dict[str, float]:
    times, peaks = [], []
    for _ in range(repeat):
        out = subprocess.run(
            [PY, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
        ).stdout
        code, elapsed, peak, err = json.loads(out)
        if code != 0:
            raise SystemExit(f"{' '.join(command)} failed ({code}): {err}")
        times.append(elapsed)
        peaks.append(peak)
    return {"seconds": statistics.median(times), "peak_mb": max(peaks)}


def loop(kind: str, feed: Path, repeat: int) -> dict[str, float]:
    runs = [
        json.loads(
            subprocess.run(
                [PY, "-c", _LOOP, kind, str(feed)], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return {"seconds": statistics.median(runs), "peak_mb": float("nan")}


def bodies_html(feed: Path, target: Path) -> None:
    """One HTML document holding every body of ``feed``, titled, for pandoc."""
    from html import escape

    from lxml import etree

    with target.open("w", encoding="utf-8") as out:
        out.write("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bench</title>")
        out.write("</head><body>\n")
        for item in etree.parse(str(feed)).iter("item"):
            body = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
            if body is None:
                body = item.findtext("description") or ""
            out.write(f"<h1>{escape(item.findtext('title') or '')}</h1>\n{body}\n")
        out.write("</body></html>\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--work", type=Path, help="folder for the generated feeds (kept)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    work = options.work or Path(tempfile.mkdtemp(prefix="feedconv-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    feeds = {}
    for size in sizes:
        path = work / f"feed-{size}.xml"
        if not path.exists():
            subprocess.run(
                [PY, str(HERE / "make_feed.py"), "--items", str(size), "-o", str(path)], check=True
            )
        feeds[size] = path
    rows: list[tuple[str, dict[str, float]]] = []
    ratios: list[str] = []
    r = options.repeat
    pandoc = shutil.which("pandoc")

    def out(name: str) -> str:
        target = work / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        return str(target)

    small = feeds.get(1000)
    if small:
        md = measure([*FEEDCONV, "to-md", str(small), "-o", out("o.md"), "--force"], r)
        rows.append(("to-md, 1k posts", md))
        md1 = measure([*FEEDCONV, "to-md", str(small), "-o", out("o.md"), "--force", "-j", "1"], r)
        rows.append(("to-md, 1k posts, --jobs 1", md1))
        mdf = loop("markdownify", small, r)
        rows.append(("markdownify defaults, loop over 1k bodies (CPU s)", mdf))
        h2t = loop("html2text", small, r)
        rows.append(("html2text defaults, loop over 1k bodies (CPU s)", h2t))
        ratios.append(f"to-md vs markdownify loop: {mdf['seconds'] / md['seconds']:.2f}x faster")
        ratios.append(f"to-md vs html2text loop: {h2t['seconds'] / md['seconds']:.2f}x faster")
        epub = measure([*FEEDCONV, "to-epub", str(small), "-o", out("o.epub"), "--force"], r)
        rows.append(("to-epub, 1k posts", epub))
        if pandoc:
            html_doc = work / "bodies-1000.html"
            bodies_html(small, html_doc)
            pmd = measure([pandoc, "-f", "html", "-t", "gfm", str(html_doc), "-o", out("p.md")], 1)
            rows.append(("pandoc -t gfm, 1k bodies", pmd))
            pep = measure(
                [pandoc, "-f", "html", "-t", "epub3", str(html_doc), "-o", out("p.epub")], 1
            )
            rows.append(("pandoc -t epub3, 1k bodies", pep))
            ratios.append(f"to-md vs pandoc: {pmd['seconds'] / md['seconds']:.1f}x faster")
            ratios.append(
                f"to-epub vs pandoc: {pep['seconds'] / epub['seconds']:.1f}x faster, "
                f"{epub['peak_mb'] / pep['peak_mb']:.2f} of its peak memory"
            )
    mid = feeds.get(10000)
    if mid:
        tj = measure([*FEEDCONV, "to-json", str(mid), "-o", out("o.json"), "--force"], r)
        rows.append(("to-json, 10k posts", tj))
        bare = measure([PY, "-c", f"from lxml import etree; etree.parse({str(mid)!r})"], r)
        rows.append(("bare lxml parse, 10k posts", bare))
        ratios.append(f"to-json 10k vs bare lxml parse: {tj['seconds'] / bare['seconds']:.2f}x")
        big_book = measure([*FEEDCONV, "to-epub", str(mid), "-o", out("o10k.epub")], 1)
        rows.append(("to-epub, 10k posts", big_book))
        with zipfile.ZipFile(work / "o10k.epub") as book:
            unpacked = sum(info.file_size for info in book.infolist()) / 2**20
        packed = (work / "o10k.epub").stat().st_size / 2**20
        line = (
            f"to-epub 10k: peak {big_book['peak_mb']:.0f} MB for a {packed:.0f} MB book"
            f" ({unpacked:.0f} MB unpacked) from a {mid.stat().st_size / 2**20:.0f} MB feed"
        )
        if small:
            grown = (big_book["peak_mb"] - epub["peak_mb"]) * 1024 / 9000
            line += f"; {grown:.1f} KB more per post than the 1k book"
        ratios.append(line)
    for size in (s for s in sizes if s >= 10000):
        feed = feeds[size]
        lines = measure([*FEEDCONV, "to-json", "--lines", str(feed), "-o", out("o.jsonl")], 1)
        rows.append((f"to-json --lines, {size // 1000}k posts", lines))
        split = measure([*FEEDCONV, "to-md", str(feed), "--split", out("split")], 1)
        rows.append((f"to-md --split, {size // 1000}k posts", split))
    helps = measure([*FEEDCONV, "--help"], max(r, 5))
    rows.append(("feedconv --help", helps))
    lines = [
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()},"
        f" {len(sizes)} feed sizes, median of {r} runs (peers and 10k+ runs: 1).",
        "",
        "| run | median seconds | peak RSS MB |",
        "| --- | ---: | ---: |",
    ]
    for label, m in rows:
        peak = "n/a" if m["peak_mb"] != m["peak_mb"] else f"{m['peak_mb']:.0f}"
        lines.append(f"| {label} | {m['seconds']:.2f} | {peak} |")
    lines += ["", *[f"- {ratio}" for ratio in ratios]]
    report = "\n".join(lines) + "\n"
    print(report)
    if options.out:
        options.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
