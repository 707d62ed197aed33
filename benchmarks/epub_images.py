"""How long ``feedconv to-epub`` takes on a 1,000-post feed whose images it must fetch.

    python benchmarks/epub_images.py [--posts 1000] [--images-per-post 3] [--write docs/epub.md]

The script makes a feed of N posts (a title, a few paragraphs, a footnote, links to
other posts) and the images they show: per post one photograph (JPEG, 1600x1200),
one WebP picture (converted to JPEG in the book) and a site logo shared by every post
(fetched once). It serves the images itself on 127.0.0.1 (nothing else is touched) and
times the real command, one process per run:

1. ``--images embed`` (the default), without the image cache: every image downloaded;
2. the same once another run has filled the cache (nothing downloaded);
3. ``--profile kindle`` without the cache: every photograph scaled to 1264x1680 or less;
4. ``--images link``: no image fetched, for comparison.

It prints a Markdown table (wall time, CPU time, peak memory, book size, images in the
book, requests the server answered) and, with ``--write FILE``, writes it into a page
together with the command that made it. Each run must exit 0 and build a book.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent


def _photo(seed: int, size: tuple[int, int], fmt: str) -> bytes:
    """A distinct picture with gradients and shapes (so codecs have real work)."""
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    r, g, b = (seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256
    for i in range(12):
        x, y = (seed * 17 + i * 131) % width, (seed * 29 + i * 97) % height
        draw.ellipse((x, y, x + width // 5, y + height // 5), fill=(r, (g + i * 20) % 256, b))
    draw.text((20, 20), f"picture {seed}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, fmt, quality=82)
    return out.getvalue()


def make_site(posts: int, per_post: int) -> tuple[str, dict[str, bytes]]:
    """(RSS feed text with {base} for the server's address, path → image bytes)."""
    images: dict[str, bytes] = {"/logo.png": _png_logo()}
    items = []
    for n in range(posts):
        tags = ['<p><img src="{base}/logo.png" alt="Site logo"></p>']
        for k in range(max(0, per_post - 1)):
            if k % 2 == 0:
                path = f"/photos/{n}-{k}.jpg"
                images[path] = _photo(n * 10 + k, (1600, 1200), "JPEG")
            else:
                path = f"/pictures/{n}-{k}.webp"
                images[path] = _photo(n * 10 + k, (800, 600), "WEBP")
            tags.append(
                f'<figure><img src="{{base}}{path}" alt="Picture {k} of post {n}">'
                f"<figcaption>Picture {k}</figcaption></figure>"
            )
        previous = (
            f' See <a href="https://bench.example/{n - 1}">the previous post</a>.' if n else ""
        )
        body = (
            f"<p>Post {n} begins here.{previous} A claim"
            f"<sup id='r{n}'><a href='#n{n}'>1</a></sup>.</p>"
            + "".join(tags)
            + "<p>"
            + "Some text to read. " * 40
            + "</p>"
            + f"<ol class='footnotes'><li id='n{n}'>The note. <a href='#r{n}'>↩</a></li></ol>"
        )
        day = 1 + n % 28
        month = 1 + (n // 28) % 12
        year = 2015 + n // 336
        items.append(
            f"<item><title>Post {n}</title><link>https://bench.example/{n}</link>"
            f"<guid>https://bench.example/{n}</guid>"
            f"<pubDate>{_rfc822(year, month, day)}</pubDate><category>bench</category>"
            f"<description><![CDATA[{body}]]></description></item>"
        )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Benchmark blog</title><link>https://bench.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    )
    return feed, images


def _png_logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 60), (20, 60, 120)).save(out, "PNG")
    return out.getvalue()


def _rfc822(year: int, month: int, day: int) -> str:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{day:02d} {months[month - 1]} {year} 10:00:00 GMT"


class _Handler(BaseHTTPRequestHandler):
    images: ClassVar[dict[str, bytes]] = {}
    requests: ClassVar[int] = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            type(self).requests += 1
        body = self.images.get(self.path)
        try:
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def _run(label: str, args: list[str], env: dict[str, str]) -> dict[str, object]:
    """Run one command; its own wall time, CPU time and peak memory (from wait4)."""
    _Handler.requests = 0
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        sys.exit(f"{label}: exit {proc.returncode}\n{stderr}")
    book = Path(args[args.index("-o") + 1])
    with zipfile.ZipFile(book) as z:
        pictures = [n for n in z.namelist() if n.startswith("EPUB/images/") and "cover" not in n]
    return {
        "run": label,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,  # MB (Linux reports KB)
        "size": book.stat().st_size / 1024 / 1024,
        "images": len(pictures),
        "requests": _Handler.requests,
        "warnings": stderr.count("warning:"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--images-per-post", type=int, default=3)
    parser.add_argument("--write", metavar="FILE", help="write the table into this page")
    options = parser.parse_args()

    made = time.perf_counter()
    feed_text, images = make_site(options.posts, options.images_per_post)
    made = time.perf_counter() - made
    _Handler.images = images
    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    total = sum(len(data) for data in images.values()) / 1024 / 1024
    print(
        f"{options.posts} posts, {len(images)} images ({total:.0f} MB) made in {made:.0f} s,"
        f" served at {base}",
        file=sys.stderr,
    )
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        feed = work / "feed.xml"
        feed.write_text(feed_text.replace("{base}", base), encoding="utf-8")
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "SOURCE_DATE_EPOCH": "0"}
        command = [sys.executable, "-m", "feedconv", "-q", "to-epub", str(feed)]
        runs = [
            ("embed, no cache", ["--no-cache"]),
            ("fill the cache", []),  # not in the table: it makes the next run's cache
            ("embed, cache filled", []),
            ("--profile kindle, no cache", ["--profile", "kindle", "--no-cache"]),
            ("--images link", ["--images", "link"]),
        ]
        for number, (label, extra) in enumerate(runs):
            row = _run(label, [*command, "-o", str(work / f"{number}.epub"), *extra], env)
            print(f"{label}: {row['wall']:.1f} s", file=sys.stderr)
            if label != "fill the cache":
                rows.append(row)
    server.shutdown()
    load = f"load average {load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after"

    header = (
        "| run | wall time | CPU time | peak memory | book | images in the book"
        " | requests served |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    table = header + "".join(
        f"| {r['run']} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {r['rss']:.0f} MB"
        f" | {r['size']:.1f} MB | {r['images']} | {r['requests']} |\n"
        for r in rows
    )
    print(table + "\n" + load)
    if options.write:
        command_line = "python benchmarks/epub_images.py " + " ".join(
            shlex.quote(a) for a in sys.argv[1:]
        )
        page = (
            "# EPUB with images: build times\n\n"
            f"A {options.posts}-post feed, {len(images)} images ({total:.0f} MB: one"
            " 1600x1200 JPEG photograph and one 800x600 WebP picture per post, and one logo"
            " shared by all), served on 127.0.0.1 by the benchmark itself; each run is one"
            " `feedconv to-epub` process (`-q`, `SOURCE_DATE_EPOCH=0`).\n\n"
            f"Made with `{command_line.strip()}` on {platform.machine()}, {os.cpu_count()} cores,"
            f" Python {platform.python_version()}; {load}.\n\n" + table
        )
        Path(options.write).write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()
