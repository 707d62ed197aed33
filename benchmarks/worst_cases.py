"""Time and peak memory of feedconv on hostile worst cases, each run as a whole process.

    python benchmarks/worst_cases.py [--size-mb 200] [--keep DIR]

Generates the inputs in a temporary folder (a large feed, a 100,000-level nesting in XML
and in HTML, an entity bomb), runs ``python -m feedconv`` on each and prints one table row
per case: outcome (exit code and the first stderr line), wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "openstack.xml"

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<rss version="2.0"><channel><title>&g;</title>
<item><title>&g;</title><description>&g;</description></item></channel></rss>
"""


def big_feed(path: Path, size_mb: int) -> None:
    """An RSS feed of about ``size_mb`` MB made of the seed feed's items, repeated with
    unique links."""
    text = SEED.read_text(encoding="utf-8")
    head, _, rest = text.partition("<item>")
    body = ("<item>" + rest).rpartition("</item>")[0]
    items = body + "</item>"
    target = size_mb * 1024 * 1024
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        written, n = 0, 0
        while written < target:
            chunk = items.replace("</link>", f"?copy={n}</link>").replace(
                "</guid>", f"?copy={n}</guid>"
            )
            out.write(chunk)
            written += len(chunk)
            n += 1
        out.write("</channel></rss>\n")


def deep_xml(path: Path, depth: int) -> None:
    path.write_bytes(
        b"<rss><channel><title>t</title><item><title>deep</title><description>"
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</description></item></channel></rss>"
    )


def deep_html(path: Path, depth: int) -> None:
    body = "<div>" * depth + "deep" + "</div>" * depth
    path.write_text(
        '<rss version="2.0"><channel><title>t</title><item><title>Nested</title>'
        f"<description><![CDATA[{body}]]></description></item></channel></rss>",
        encoding="utf-8",
    )


def run(args: list[str]) -> tuple[int, str, float, float]:
    """Exit code, first stderr line, wall seconds and peak RSS (MB) of one process."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "feedconv", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children
    first = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else ""
    return proc.returncode, first, elapsed, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="write the inputs here and keep them")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="feedconv-worst-"))
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    bomb = folder / "bomb.xml"
    bomb.write_bytes(BOMB)
    cases.append(("entity bomb (7 levels, 10^9 expansions)", ["to-json", str(bomb)]))
    deep_x = folder / "deep-xml.xml"
    deep_xml(deep_x, 100_000)
    cases.append(("XML nested 100,000 levels", ["to-json", str(deep_x)]))
    deep_h = folder / "deep-html.xml"
    deep_html(deep_h, 100_000)
    cases.append(("HTML nested 100,000 levels, to-md", ["to-md", str(deep_h)]))
    big = folder / "big.xml"
    big_feed(big, options.size_mb)
    size = big.stat().st_size / 1024 / 1024
    cases.append((f"{size:.0f} MB feed, to-json --lines", ["to-json", "--lines", str(big)]))
    print("| case | exit | first stderr line | seconds | peak RSS MB |")
    print("| --- | --- | --- | --- | --- |")
    for label, args in cases:
        code, first, elapsed, peak = _isolated(args)
        print(f"| {label} | {code} | {first[:90]} | {elapsed:.2f} | {peak:.0f} |")


def _isolated(args: list[str]) -> tuple[int, str, float, float]:
    """Run one case from a fresh measuring process, so that the children's peak RSS
    is that case's own."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import worst_cases as w; "
        "print(json.dumps(w.run(sys.argv[2:])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    exit_code, first, elapsed, peak = json.loads(proc.stdout)
    return exit_code, first, elapsed, peak


if __name__ == "__main__":
    main()
