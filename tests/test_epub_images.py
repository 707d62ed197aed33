"""EPUB images against a server on 127.0.0.1: embedded once, converted, scaled, failing
cleanly (404, timeout, too big, not an image), SVG made safe, data: URIs, local files,
link and drop modes, the cover; every book passes EPUBCheck and builds byte for byte."""

from __future__ import annotations

import base64
import io
import posixpath
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from checks import NS
from feedconv.cli import ExitCode, cli
from imageserver import ImageHandler, make_images, serving


def invoke(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), input=input, env=env, prog_name="feedconv")


def rss(
    items: list[tuple[str, str, str | None]], link: str | None = "https://blog.example.org/"
) -> str:
    """An RSS feed of (title, body HTML, link) items, dated a day apart."""
    parts = []
    for n, (title, body, item_link) in enumerate(items, start=1):
        link_tag = f"<link>{item_link}</link>" if item_link else ""
        parts.append(
            f"<item><title>{title}</title>{link_tag}<guid>urn:item:{n}</guid>"
            f"<pubDate>Mon, {n:02d} Jan 2024 10:00:00 GMT</pubDate>"
            f"<description><![CDATA[{body}]]></description></item>"
        )
    channel_link = f"<link>{link}</link>" if link else ""
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Pictures</title>'
        f"{channel_link}{''.join(parts)}</channel></rss>"
    )


def zip_files(book: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        return {name: z.read(name) for name in z.namelist()}


def manifest(book: bytes) -> dict[str, tuple[str, str]]:
    """href (relative to EPUB/) → (media type, properties)."""
    opf = etree.fromstring(zip_files(book)["EPUB/content.opf"])
    return {
        item.get("href"): (item.get("media-type"), item.get("properties") or "")
        for item in opf.iterfind(".//opf:item", NS)
    }


def chapter(book: bytes, title: str) -> etree._Element:
    for name, data in zip_files(book).items():
        if re.search(r"/p\d+\.xhtml$", name):
            doc = etree.fromstring(data)
            if "".join(doc.find(".//x:h1", NS).itertext()) == title:
                return doc
    raise AssertionError(f"no chapter {title!r}")


def embedded(book: bytes, doc: etree._Element) -> list[tuple[str, bytes]]:
    """(alt, bytes) of every image a chapter shows, read from the book."""
    files = zip_files(book)
    result = []
    for img in doc.iterfind(".//x:img", NS):
        path = posixpath.normpath(posixpath.join("EPUB/text", img.get("src")))
        result.append((img.get("alt"), files[path]))
    return result


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("feedconv: warning:")]


PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="  # a lazy loader's placeholder


def gallery(base: str) -> str:
    items = [
        (
            "Formats",
            f'<p><img src="{base}/ok.png" alt="ok"> <img src="{base}/photo.jpg" alt="photo">'
            f' <img src="{base}/anim.gif" alt="anim"></p>'
            f'<p><img src="{base}/pic.webp" alt="webp"><img src="{base}/alpha.webp" alt="alpha">'
            f'<img src="{base}/pic.avif" alt="avif"><img src="{base}/pic.tiff" alt="tiff">'
            f'<img src="{base}/icon.ico" alt="ico"><img src="{base}/pic.bmp" alt="bmp"></p>'
            f'<figure><img src="{base}/big.png" alt="big"><figcaption>Big</figcaption></figure>'
            f'<p><img src="{base}/fake.png" alt="fake"></p>',
            "https://blog.example.org/formats",
        ),
        (
            "Failures",
            f'<p>Before <img src="{base}/missing.png" alt="gone"> after.</p>'
            f'<p><img src="{base}/slow.png" alt="slow"></p>'
            f'<p><img src="{base}/huge.png" alt="huge"></p>'
            f'<p><img src="{base}/page.html" alt="html"></p>'
            '<p><a href="https://elsewhere.example/">'
            f'<img src="{base}/missing.png" alt="in a link"></a></p>',
            "https://blog.example.org/failures",
        ),
        (
            "Sources",
            f'<p><img src="{base}/redirect.png" alt="moved"></p>'
            f'<p><img src="{PIXEL}" data-src="{base}/lazy.jpg" alt="lazy"></p>'
            f'<p><img srcset="{base}/small.png 300w, {base}/large.png 900w" alt="srcset"></p>'
            f'<picture><source srcset="{base}/pic.webp" type="image/webp">'
            f'<img src="{base}/missing-fallback.png" alt="picture"></picture>'
            f'<p><img class="lazyload" src="{PIXEL}">'
            f'<noscript><img src="{base}/ok2.png" alt="noscript"></noscript></p>'
            f'<p><img src="{base}/evil.svg" alt="chart"></p>'
            f'<p>Again: <img src="{base}/ok.png" alt="same"></p>',
            "https://blog.example.org/sources",
        ),
    ]
    return rss(items)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, object]:
    """Books built through the CLI against one server run (hits are per book)."""
    folder = tmp_path_factory.mktemp("images")
    out: dict[str, object] = {}
    ImageHandler.slow_seconds = 8.0
    with serving() as base:
        feed = folder / "gallery.xml"
        feed.write_text(gallery(base), encoding="utf-8")
        args = ["to-epub", str(feed), "-o", "-", "--image-timeout", "3", "--max-image-mb", "1"]
        result = invoke(*args, "--max-image-size", "800x800", "--no-cache")
        out["embed"] = result
        out["embed-hits"] = list(ImageHandler.hits)
        out["agents"] = list(ImageHandler.agents)
        again = invoke(*args, "--max-image-size", "800x800", "--no-cache")
        out["again"] = again
        ImageHandler.hits.clear()
        out["link"] = invoke(*args, "--images", "link")
        out["drop"] = invoke(*args, "--images", "drop")
        out["link-drop-hits"] = list(ImageHandler.hits)
        out["kindle"] = invoke(*args, "--profile", "kindle", "--no-cache")
        out["budget"] = invoke(*args, "--max-book-mb", "0.004", "--no-cache")
        # the image cache: a first run fills it, a second one asks the server nothing
        ImageHandler.hits.clear()
        out["cached-1"] = invoke(*args, "--max-image-size", "800x800")
        first_hits = len(ImageHandler.hits)
        out["cached-2"] = invoke(*args, "--max-image-size", "800x800")
        out["cache-hits"] = (first_hits, sorted(ImageHandler.hits[first_hits:]))
    return out


@pytest.fixture(scope="module")
def reports(built, epubcheck):
    books = {}
    for name in ("embed", "link", "drop", "kindle", "budget"):
        result = built[name]
        assert result.exit_code == 0, (name, result.stderr)
        books[name] = result.stdout_bytes
    return epubcheck.many(books)


@pytest.mark.parametrize("name", ["embed", "link", "drop", "kindle", "budget"])
def test_every_image_book_passes_epubcheck(reports, name):
    assert reports[name] == ([], [])


def test_no_remote_resource_and_every_image_is_in_the_book(built):
    for name in ("embed", "link", "drop", "kindle", "budget"):
        book = built[name].stdout_bytes
        files = zip_files(book)
        for path, data in files.items():
            if not path.endswith(".xhtml"):
                continue
            doc = etree.fromstring(data)
            for element in doc.iter():
                src = element.get("src")
                if src is not None:
                    assert not re.match(r"^[a-z]+:", src), (name, path, src)
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), src))
                    assert target in files, (name, path, src)


def test_formats_are_converted_and_large_images_scaled(built):
    book = built["embed"].stdout_bytes
    types = {media for media, _ in manifest(book).values()}
    assert (
        types & {"image/webp", "image/avif", "image/tiff", "image/bmp", "image/vnd.microsoft.icon"}
        == set()
    )
    shown = dict(embedded(book, chapter(book, "Formats")))
    formats = {alt: Image.open(io.BytesIO(data)).format for alt, data in shown.items()}
    assert formats == {
        "ok": "PNG",
        "photo": "JPEG",
        "anim": "GIF",
        "webp": "JPEG",  # a lossy photograph stays a photograph
        "alpha": "PNG",  # transparency needs PNG
        "avif": "JPEG",
        "tiff": "PNG",
        "ico": "PNG",
        "bmp": "PNG",
        "big": "PNG",
        "fake": "JPEG",  # sniffed from the bytes, not the name or the header
    }
    assert shown["ok"] == make_images()["/ok.png"]  # readable formats are kept as they are
    big = Image.open(io.BytesIO(shown["big"]))
    assert big.size == (800, 533)  # within 800x800, proportions kept
    # the manifest says what each file is
    for href, (media, _) in manifest(book).items():
        if href.startswith("images/"):
            data = zip_files(book)["EPUB/" + href]
            expected = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}
            if media != "image/svg+xml":
                assert expected[Image.open(io.BytesIO(data)).format] == media, href


def test_failures_become_links_with_one_warning_each(built):
    result = built["embed"]
    warnings = warnings_of(result.stderr)
    failures = [w for w in warnings if '"Failures"' in w]
    assert len(failures) == 4, warnings  # missing.png twice in the post: one warning
    reasons = {
        "missing.png": "404",
        "slow.png": "timed out",
        "huge.png": "limit",
        "page.html": "not a PNG",
    }
    for name, reason in reasons.items():
        [line] = [w for w in failures if f"/{name} " in w]
        assert reason in line and "linked instead" in line
    assert not [w for w in warnings if '"Formats"' in w or '"Sources"' in w]
    doc = chapter(result.stdout_bytes, "Failures")
    assert doc.find(".//x:img", NS) is None
    links = {
        a.get("href"): "".join(a.itertext()) for a in doc.iterfind(".//x:a[@class='media']", NS)
    }
    base = next(h for h in links if h.endswith("/missing.png")).rsplit("/", 1)[0]
    assert links[f"{base}/missing.png"] == "[image: gone]"
    assert links[f"{base}/slow.png"] == "[image: slow]"
    text = " ".join("".join(doc.find(".//x:div[@class='content']", NS).itertext()).split())
    assert "Before [image: gone] after." in text
    # inside a link, the failed image is text (links do not nest)
    outer = doc.find(".//x:a[@href='https://elsewhere.example/']", NS)
    assert "".join(outer.itertext()) == "[image: in a link]"
    assert outer.find("x:a", NS) is None


def test_real_sources_redirects_and_fetching_once(built):
    book = built["embed"].stdout_bytes
    images = make_images()
    shown = dict(embedded(book, chapter(book, "Sources")))
    assert shown["moved"] == images["/ok2.png"]  # the redirect was followed
    assert shown["lazy"] == images["/lazy.jpg"]  # data-src, not the placeholder
    assert shown["srcset"] == images["/large.png"]  # the largest srcset candidate
    assert shown["noscript"] == images["/ok2.png"]  # the real image of a lazy loader
    assert Image.open(io.BytesIO(shown["picture"])).format == "JPEG"  # <source> after a 404
    assert shown["same"] == images["/ok.png"]
    hits = built["embed-hits"]
    assert hits.count("/ok.png") == 1  # two posts, one download
    assert hits.count("/missing-fallback.png") == 1 and hits.count("/pic.webp") == 1
    assert all(agent.startswith("feedconv/") for agent in built["agents"])
    # the same bytes are stored once in the book
    files = [n for n in zip_files(book) if n.startswith("EPUB/images/") and "cover" not in n]
    assert len(files) == len({zip_files(book)[n] for n in files})


def test_svg_is_rebuilt_without_active_content(built):
    book = built["embed"].stdout_bytes
    [svg_name] = [n for n in zip_files(book) if n.endswith(".svg")]
    data = zip_files(book)[svg_name]
    root = etree.fromstring(data)
    assert root.tag == f"{{{NS['svg']}}}svg"
    tags = {etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)}
    assert not tags & {"script", "foreignObject", "image", "animate", "a", "div"}
    assert tags >= {"rect", "circle", "text", "linearGradient"}
    lowered = data.lower()
    for bad in (b"onload", b"onclick", b"javascript", b"evil.example", b"@import", b"passwd"):
        assert bad not in lowered
    assert root.find(".//svg:rect", NS).get("fill") == "url(#g)"  # own references stay
    assert manifest(book)[svg_name.removeprefix("EPUB/")][0] == "image/svg+xml"


def test_byte_identical_builds_with_images(built):
    assert built["embed"].stdout_bytes == built["again"].stdout_bytes
    assert built["cached-1"].stdout_bytes == built["embed"].stdout_bytes


def test_cache_keyed_by_url_spares_the_server(built):
    first, second = built["cache-hits"]
    assert first > 10
    # only what failed is asked again: failures are never cached
    failed = ["/huge.png", "/missing-fallback.png", "/missing.png", "/page.html", "/slow.png"]
    assert second == failed
    assert built["cached-2"].stdout_bytes == built["cached-1"].stdout_bytes


def test_link_and_drop_modes_fetch_nothing(built):
    assert built["link-drop-hits"] == []
    link = built["link"].stdout_bytes
    doc = chapter(link, "Formats")
    assert doc.find(".//x:img", NS) is None
    hrefs = [a.get("href") for a in doc.iterfind(".//x:a[@class='media']", NS)]
    assert len(hrefs) == 11 and all(h.startswith("http://127.0.0.1:") for h in hrefs)
    lazy = chapter(link, "Sources").xpath(".//x:a[.='[image: lazy]']", namespaces=NS)
    assert lazy[0].get("href").endswith("/lazy.jpg")  # the real source, not the placeholder
    drop = built["drop"].stdout_bytes
    for title in ("Formats", "Failures", "Sources"):
        doc = chapter(drop, title)
        assert doc.find(".//x:img", NS) is None
        assert "[image" not in "".join(doc.itertext())
    assert warnings_of(built["drop"].stderr) == []
    assert "Big" in "".join(chapter(drop, "Formats").itertext())  # captions stay


def test_kindle_profile_scales_and_links_svg(built):
    result = built["kindle"]
    book = result.stdout_bytes
    assert not [n for n in zip_files(book) if n.endswith(".svg")]
    assert any("evil.svg" in w and "SVG" in w for w in warnings_of(result.stderr))
    shown = dict(embedded(book, chapter(book, "Formats")))
    assert Image.open(io.BytesIO(shown["big"])).size in ((1264, 842), (1264, 843))


def test_book_image_budget(built):
    result = built["budget"]
    budget = [w for w in warnings_of(result.stderr) if "budget" in w]
    assert budget, result.stderr
    files = zip_files(result.stdout_bytes)
    total = sum(
        len(d) for n, d in files.items() if n.startswith("EPUB/images/") and "cover" not in n
    )
    assert 0 < total <= 0.004 * 1024 * 1024


# --------------------------------------------------------------- data: URIs and files


def png_bytes(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def test_data_uris_and_files_next_to_a_local_feed(tmp_path: Path, epubcheck):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "local.png").write_bytes(png_bytes((1, 1, 1)))
    (tmp_path.parent / "secret.png").write_bytes(png_bytes((2, 2, 2)))
    inline = base64.b64encode(png_bytes((3, 3, 3))).decode()
    body = (
        '<p><img src="pics/local.png" alt="local"></p>'
        f'<p><img src="data:image/png;base64,{inline}" alt="inline"></p>'
        '<p><img src="../secret.png" alt="outside"></p>'
        '<p><img src="pics/none.png" alt="absent"></p>'
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([("Local", body, None)], link=None), encoding="utf-8")
    result = invoke("to-epub", str(feed), "-o", "-")
    assert result.exit_code == 0, result.stderr
    book = result.stdout_bytes
    shown = dict(embedded(book, chapter(book, "Local")))
    assert shown == {"local": png_bytes((1, 1, 1)), "inline": png_bytes((3, 3, 3))}
    warnings = warnings_of(result.stderr)
    assert len(warnings) == 2
    assert any("../secret.png" in w and "leaves the feed's folder" in w for w in warnings)
    assert any("pics/none.png" in w and "no such file" in w for w in warnings)
    text = "".join(chapter(book, "Local").itertext())
    assert "[image: outside]" in text and "[image: absent]" in text  # no link to a file
    # from standard input there is no folder: relative paths are not read
    piped = invoke("to-epub", "-", "-o", "-", input=feed.read_bytes())
    assert piped.exit_code == 0
    assert any("pics/local.png" in w and "not a local file" in w for w in warnings_of(piped.stderr))
    assert epubcheck(book, "local") == ([], [])


# ------------------------------------------------------------------------------ cover


def cover_of(book: bytes) -> tuple[str, bytes]:
    [(href, _)] = [(h, m) for h, m in manifest(book).items() if "cover-image" in m[1]]
    return href, zip_files(book)["EPUB/" + href]


def test_generated_cover_and_cover_options(tmp_path: Path, epubcheck):
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([("One", "<p>x</p>", "https://blog.example.org/1")]), encoding="utf-8")
    made = invoke("to-epub", str(feed), "-o", "-")
    assert made.exit_code == 0, made.stderr
    href, data = cover_of(made.stdout_bytes)
    image = Image.open(io.BytesIO(data))
    assert (href, image.format, image.size) == ("images/cover.png", "PNG", (1600, 2560))
    assert len(image.getcolors(1 << 20)) > 20  # text was drawn on it
    opf = etree.fromstring(zip_files(made.stdout_bytes)["EPUB/content.opf"])
    assert opf.find(".//opf:meta[@name='cover']", NS).get("content") == "cover-image"
    page = etree.fromstring(zip_files(made.stdout_bytes)["EPUB/text/cover.xhtml"])
    assert page.find(".//x:img", NS).get("src") == "../images/cover.png"
    assert page.find("x:body", NS).get(f"{{{NS['epub']}}}type") == "cover"

    own = tmp_path / "mine.webp"
    Image.new("RGB", (300, 480), (5, 80, 160)).save(own, "WEBP")
    given = invoke("to-epub", str(feed), "-o", "-", "--cover", str(own))
    assert given.exit_code == 0, given.stderr
    href, data = cover_of(given.stdout_bytes)
    assert href == "images/cover.jpg" and Image.open(io.BytesIO(data)).size == (300, 480)

    none = invoke("to-epub", str(feed), "-o", "-", "--no-cover")
    assert none.exit_code == 0
    assert not [m for m in manifest(none.stdout_bytes).values() if "cover-image" in m[1]]
    assert "EPUB/text/cover.xhtml" not in zip_files(none.stdout_bytes)

    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    refused = invoke("to-epub", str(feed), "-o", str(tmp_path / "x.epub"), "--cover", str(bad))
    assert refused.exit_code == ExitCode.INPUT_ERROR
    assert "cover image" in refused.stderr and not (tmp_path / "x.epub").exists()
    assert not list(tmp_path.glob(".x.epub*"))  # no temp file left behind
    both = invoke("to-epub", str(feed), "-o", "-", "--cover", str(own), "--no-cover")
    assert both.exit_code == ExitCode.USAGE
    reports = epubcheck.many(
        {"made": made.stdout_bytes, "given": given.stdout_bytes, "none": none.stdout_bytes}
    )
    assert reports == {"made": ([], []), "given": ([], []), "none": ([], [])}


def test_bad_image_size_is_a_usage_error(tmp_path: Path):
    result = invoke("to-epub", "x.xml", "-o", "-", "--max-image-size", "big")
    assert result.exit_code == ExitCode.USAGE
    assert "WIDTHxHEIGHT" in result.stderr
