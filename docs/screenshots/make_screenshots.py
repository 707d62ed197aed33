"""Screenshots of a book as a reader sees it: a chapter, the contents and the cover.

    python docs/screenshots/make_screenshots.py [--out docs/screenshots]

Builds a small book with the real command (``feedconv to-epub``) from a feed written
here, whose post shows what e-readers struggle with: an image (a relative path, read
from the feed's folder), a long line of code, a wide table, a quotation and footnotes.
The book is unpacked and its XHTML rendered by headless Chromium at e-reader size
(``apt-get install chromium``); the PNGs land in ``--out``. Nothing is fetched.
"""

# ruff: noqa: E501  (the sample post below keeps its long lines: one of them is the point)

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
SIZE = (640, 1000)  # CSS pixels: a 6-inch e-reader page, roughly

POST = """
<p>Every morning at six a small script fetches a dozen feeds and turns the new posts into a
book. This is the story of the week it broke, and what fixed it<sup id="fnref:1"><a
href="#fn:1" class="footnote-ref">1</a></sup>.</p>
<figure><img src="chart.png" alt="Posts per day over a month">
<figcaption>Posts per day in March: the spike on the 14th is the bug.</figcaption></figure>
<h2>The culprit</h2>
<p>The feed of one site listed every post twice, once per category. The fix is one line:</p>
<pre><code class="language-python">entries = {entry.link: entry for entry in sorted(feed.entries, key=lambda e: e.published)}.values()  # keep the newest</code></pre>
<blockquote><p>Duplicate entries are the feed's business, until they land in your book.</p></blockquote>
<table><thead><tr><th>Feed</th><th>Posts</th><th>Duplicates</th><th>Images</th><th>Notes</th></tr></thead>
<tbody><tr><td>blog.example.org</td><td>212</td><td>106</td><td>340</td><td>every post twice</td></tr>
<tr><td>news.example.net</td><td>48</td><td>0</td><td>12</td><td>fine</td></tr></tbody></table>
<p>Two weeks later the numbers were back to normal<sup id="fnref:2"><a href="#fn:2"
class="footnote-ref">2</a></sup>.</p>
<div class="footnote"><hr><ol>
<li id="fn:1"><p>Nothing clever: a set of links seen.&#160;<a class="footnote-backref" href="#fnref:1">&#8617;</a></p></li>
<li id="fn:2"><p>Measured by <code>feedconv info</code>.&#160;<a class="footnote-backref" href="#fnref:2">&#8617;</a></p></li>
</ol></div>
"""


def chart(path: Path) -> None:
    """A bar chart, drawn with Pillow."""
    image = Image.new("RGB", (900, 420), (250, 250, 247))
    draw = ImageDraw.Draw(image)
    values = [6, 7, 5, 8, 6, 7, 9, 6, 5, 7, 8, 6, 7, 31, 8, 6, 7, 5, 6, 8, 7, 6, 9, 7, 6, 5]
    for day, value in enumerate(values):
        x = 40 + day * 32
        colour = (200, 70, 60) if value > 20 else (60, 110, 170)
        draw.rectangle((x, 380 - value * 11, x + 22, 380), fill=colour)
    draw.line((30, 381, 880, 381), fill=(80, 80, 80), width=2)
    image.save(path, "PNG")


def feed_text() -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Field Notes on Feeds</title><description>Small tools, kept running</description>"
        "<item><title>The week the morning digest doubled</title>"
        "<author>ada@example.org (Ada Lovelace)</author>"
        "<category>feeds</category><category>debugging</category>"
        "<pubDate>Tue, 02 Apr 2024 07:30:00 GMT</pubDate>"
        f"<description><![CDATA[{POST}]]></description></item>"
        "<item><title>Reading on paper again</title><pubDate>Mon, 15 Apr 2024 08:00:00 GMT"
        "</pubDate><description>Short one.</description></item>"
        "</channel></rss>"
    )


def shoot(chromium: str, page: Path, png: Path, size: tuple[int, int]) -> None:
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--screenshot={png}",
            f"--window-size={size[0]},{size[1]}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    options = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        chart(work / "chart.png")
        (work / "feed.xml").write_text(feed_text(), encoding="utf-8")
        book = work / "book.epub"
        subprocess.run(
            [sys.executable, "-m", "feedconv", "to-epub", str(work / "feed.xml"), "-o", str(book)],
            check=True,
            env={"SOURCE_DATE_EPOCH": "1712000000", "PATH": "/usr/bin:/bin"},
        )
        unpacked = work / "book"
        with zipfile.ZipFile(book) as z:
            z.extractall(unpacked)
        text = unpacked / "EPUB" / "text"
        options.out.mkdir(parents=True, exist_ok=True)
        shoot(chromium, text / "p00001.xhtml", options.out / "chapter.png", (SIZE[0], 1000))
        shoot(chromium, text / "contents.xhtml", options.out / "contents.png", SIZE)
        shoot(chromium, text / "cover.xhtml", options.out / "cover.png", (480, 768))
    for name in ("chapter.png", "contents.png", "cover.png"):
        print(options.out / name)


if __name__ == "__main__":
    main()
