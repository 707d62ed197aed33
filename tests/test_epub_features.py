"""EPUB structure and reading aids: footnotes as EPUB 3 notes, links between posts,
--toc layouts, a section per feed, metadata, --css, ids unique across the book, and
books of thousands of posts; every book passes EPUBCheck."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from checks import NS
from feedconv.cli import ExitCode, cli
from feedconv.model import Author, Entry, Feed
from feedconv.writers.epub import BookOptions, build_book

DATA = Path(__file__).resolve().parent / "data" / "html"
EPUB_TYPE = f"{{{NS['epub']}}}type"


def at(day: int, month: int = 1, year: int = 2024) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def case_html(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8").split("<!-- output -->")[0]


def files(book: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        return {n: z.read(n) for n in z.namelist()}


def doc(book: bytes, name: str) -> etree._Element:
    return etree.fromstring(files(book)[name])


def text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def toc(book: bytes) -> list:
    nav = doc(book, "EPUB/nav.xhtml")
    [ol] = nav.xpath("//x:nav[@epub:type='toc']/x:ol", namespaces=NS)

    def walk(parent: etree._Element) -> list:
        result = []
        for li in parent.findall("x:li", NS):
            inner = li.find("x:ol", NS)
            label = text(li.find("x:a", NS))
            result.append((label, walk(inner)) if inner is not None else label)
        return result

    return walk(ol)


def noted_feed() -> Feed:
    return Feed(
        title="Notes and links",
        home_page_url="https://notes.example.org/",
        feed_url="https://notes.example.org/feed.xml",
        entries=(
            Entry(
                id="urn:a",
                title="Generators",
                link="https://notes.example.org/a",
                published=at(1),
                categories=("python", "writing"),
                content_html=case_html("footnotes_generators.txt")
                + '<p id="intro">Intro</p><p><a href="#intro">up</a>'
                " <a href='https://notes.example.org/a#intro'>own, absolute</a>"
                " <a href='http://NOTES.example.org/b/#sec'>to a section of B</a>"
                " <a href='https://notes.example.org/b'>to B</a>"
                " <a href='https://notes.example.org/b#nowhere'>to a missing anchor</a>"
                " <a href='https://elsewhere.example/'>away</a></p>",
            ),
            Entry(
                id="urn:b",
                title="Docutils and WordPress",
                link="https://notes.example.org/b",
                published=at(2),
                categories=("python",),
                content_html='<h2 id="sec">Section</h2>'
                + case_html("footnotes_docutils_wordpress.txt")
                + '<p id="intro">B has an intro too</p>',
            ),
        ),
    )


def month_feed() -> Feed:
    entries = [
        Entry(
            id=f"urn:m:{n}", title=f"Post {n}", published=at(1 + n % 3, 1 + n % 2), content_text="x"
        )
        for n in range(6)
    ]
    entries.append(Entry(id="urn:m:undated", title="No date", content_text="y"))
    return Feed(title="Months", entries=tuple(entries))


def merged_feed() -> Feed:
    return Feed(
        title="Alpha and Beta",
        entries=(
            Entry(id="a1", title="A one", published=at(3), source="Alpha", content_text="a"),
            Entry(id="b1", title="B one", published=at(1), source="Beta", content_text="b"),
            Entry(id="a2", title="A two", published=at(2, 2), source="Alpha", content_text="a"),
            Entry(id="b2", title="B undated", source="Beta", content_text="b"),
        ),
    )


MANY = 3000


def many_feed() -> Feed:
    start = datetime(2015, 1, 1, tzinfo=UTC)
    entries = tuple(
        Entry(
            id=f"urn:many:{n}",
            title="Weekly notes" if n % 2 else None,  # duplicate titles and untitled posts
            link=f"https://many.example/{n}",
            published=start + timedelta(hours=31 * n),
            content_html=f'<p id="top">Post {n}.</p><p><a href="https://many.example/{n - 1}">'
            f'previous</a> <a href="#top">top</a></p>',
        )
        for n in range(MANY)
    )
    return Feed(title="Many", language="de", entries=entries)


CSS = "p { text-indent: 1em; }\n"


@pytest.fixture(scope="module")
def books() -> dict[str, bytes]:
    return {
        "notes": build_book(noted_feed(), BookOptions(css=CSS, publisher="Me & Co")),
        "month": build_book(month_feed(), BookOptions(toc="month")),
        "day": build_book(month_feed(), BookOptions(toc="day", newest_first=True)),
        "flat": build_book(month_feed(), BookOptions(toc="flat")),
        "merged": build_book(merged_feed()),
        "merged-flat": build_book(merged_feed(), BookOptions(toc="flat")),
        "many": build_book(many_feed(), BookOptions(generate_cover=False)),
    }


@pytest.fixture(scope="module")
def reports(books, epubcheck):
    return epubcheck.many(books)


@pytest.mark.parametrize("name", ["notes", "month", "day", "flat", "merged", "merged-flat", "many"])
def test_book_passes_epubcheck(reports, name):
    assert reports[name] == ([], [])


# ---------------------------------------------------------------------------- footnotes


def test_footnotes_become_epub3_notes_with_back_links(books):
    page = doc(books["notes"], "EPUB/text/p00001.xhtml")
    refs = page.xpath("//x:a[@epub:type='noteref']", namespaces=NS)
    assert [text(a) for a in refs] == ["1", "2", "3", "1"]  # the first note referenced twice
    assert all(a.getparent().tag == f"{{{NS['x']}}}sup" for a in refs)
    notes = page.xpath("//x:aside[@epub:type='footnote']", namespaces=NS)
    assert [" ".join(text(p) for p in n.iterfind("x:p", NS)) for n in notes] == [
        "1. First note with emphasis.",
        "2. Pandoc's note. With a second paragraph.",
        "3. kramdown note",
    ]
    ids = {e.get("id"): e for e in page.iter() if e.get("id")}
    for ref in refs:
        assert ids[ref.get("href")[1:]] in notes
    for note, ref in zip(notes, refs[:3], strict=True):
        back = note.find(".//x:a[@role='doc-backlink']", NS)
        assert back.get("href") == "#" + ref.get("id")
    # the notes' old markup (lists, rules, back arrows) is gone from the text
    content = page.find(".//x:div[@class='content']", NS)
    assert "↩" not in text(content) and "Jump back" not in text(content)
    assert content.find(".//x:ol", NS) is None
    other = doc(books["notes"], "EPUB/text/p00002.xhtml")
    assert len(other.xpath("//x:aside[@epub:type='footnote']", namespaces=NS)) == 3


def test_ids_are_unique_across_the_book(books):
    for name in ("notes", "many"):
        seen = Counter(
            element.get("id")
            for path, data in files(books[name]).items()
            if path.endswith(".xhtml")
            for element in etree.fromstring(data).iter()
            if element.get("id")
        )
        assert seen and max(seen.values()) == 1, [i for i, n in seen.items() if n > 1][:5]


# ----------------------------------------------------------------------- links in a book


def test_links_between_posts_stay_in_the_book(books):
    page = doc(books["notes"], "EPUB/text/p00001.xhtml")
    links = {text(a): a.get("href") for a in page.iterfind(".//x:a", NS)}
    b = doc(books["notes"], "EPUB/text/p00002.xhtml")
    section = b.xpath("//x:h2[.='Section']", namespaces=NS)[0].get("id")
    intro = page.xpath("//x:p[.='Intro']", namespaces=NS)[0].get("id")
    assert links["to a section of B"] == f"p00002.xhtml#{section}"  # any scheme, host case, slash
    assert links["to B"] == "p00002.xhtml"
    assert links["to a missing anchor"] == "p00002.xhtml"
    assert links["up"] == links["own, absolute"] == f"#{intro}"  # own anchors stay in the chapter
    assert links["away"] == "https://elsewhere.example/"
    away = page.xpath("//x:a[.='away']", namespaces=NS)[0]
    assert away.get("rel") == "noopener"
    # B's own "intro" anchor got another id, since ids are unique across the book
    assert b.xpath("//x:p[.='B has an intro too']", namespaces=NS)[0].get("id") != intro


def test_every_internal_link_resolves(books):
    for name, book in books.items():
        contents = files(book)
        anchors = {
            path: {e.get("id") for e in etree.fromstring(data).iter() if e.get("id")}
            for path, data in contents.items()
            if path.endswith(".xhtml")
        }
        for path, data in contents.items():
            if not path.endswith(".xhtml"):
                continue
            for a in etree.fromstring(data).iterfind(".//x:a", NS):
                href = a.get("href")
                if href is None or re.match(r"^(https?|mailto):", href):
                    continue
                target, _, fragment = href.partition("#")
                target = (
                    posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
                    if target
                    else path
                )
                assert target in anchors, (name, path, href)
                if fragment:
                    assert fragment in anchors[target], (name, path, href)


# ------------------------------------------------------------------------------- layouts


def test_toc_month_day_and_flat(books):
    assert toc(books["month"]) == [
        ("January 2024", ["Post 0", "Post 4", "Post 2"]),
        ("February 2024", ["Post 3", "Post 1", "Post 5"]),
        ("Undated", ["No date"]),
    ]
    assert toc(books["day"]) == [  # newest first; undated posts still last
        ("3 February 2024", ["Post 5"]),
        ("2 February 2024", ["Post 1"]),
        ("1 February 2024", ["Post 3"]),
        ("3 January 2024", ["Post 2"]),
        ("2 January 2024", ["Post 4"]),
        ("1 January 2024", ["Post 0"]),
        ("Undated", ["No date"]),
    ]
    assert toc(books["flat"]) == [
        "Post 0",
        "Post 4",
        "Post 2",
        "Post 3",
        "Post 1",
        "Post 5",
        ("Undated", ["No date"]),
    ]


def test_several_feeds_get_a_section_each(books):
    assert toc(books["merged"]) == [
        ("Alpha", [("2024", [("January 2024", ["A one"]), ("February 2024", ["A two"])])]),
        ("Beta", [("2024", [("January 2024", ["B one"])]), ("Undated", ["B undated"])]),
    ]
    assert toc(books["merged-flat"]) == [
        ("Alpha", ["A one", "A two"]),
        ("Beta", ["B one", ("Undated", ["B undated"])]),
    ]
    page = doc(books["merged"], "EPUB/text/p00001.xhtml")
    assert "from Alpha" in text(page.find(".//x:p[@class='byline']", NS))
    title = doc(books["merged"], "EPUB/text/title.xhtml")
    assert "From Alpha, Beta" in text(title)
    feed_page = doc(books["merged"], "EPUB/text/f01.xhtml")
    assert text(feed_page.find(".//x:h1", NS)) == "Alpha"
    assert [text(a) for a in feed_page.iterfind(".//x:a", NS)] == ["2024"]


def test_inline_contents_page_and_landmarks(books):
    contents = doc(books["month"], "EPUB/text/contents.xhtml")
    groups = contents.findall("x:body/x:ul/x:li", NS)
    assert [text(li.find("x:a", NS)) + text(li.find("x:span", NS)) for li in groups] == [
        "January 2024(3 posts)",
        "February 2024(3 posts)",
        "Undated(1 post)",
    ]
    posts = contents.xpath("x:body/x:ul/x:li/x:ul/x:li/x:a", namespaces=NS)
    assert [a.get("href") for a in posts] == [f"p{n:05d}.xhtml" for n in range(1, 8)]
    flat = doc(books["flat"], "EPUB/text/contents.xhtml")
    assert len(flat.findall("x:body/x:ul/x:li", NS)) == 7  # six posts and "Undated"
    big = doc(books["many"], "EPUB/text/contents.xhtml")  # a big book lists its groups only
    hrefs = [a.get("href") for a in big.iterfind(".//x:a", NS)]
    assert hrefs and not [h for h in hrefs if h.startswith("p")]
    nav = doc(books["month"], "EPUB/nav.xhtml")
    landmarks = {
        a.get(EPUB_TYPE): a.get("href")
        for a in nav.xpath("//x:nav[@epub:type='landmarks']//x:a", namespaces=NS)
    }
    assert landmarks == {
        "cover": "text/cover.xhtml",
        "titlepage": "text/title.xhtml",
        "toc": "text/contents.xhtml",
        "bodymatter": "text/m2024-01.xhtml",
    }
    ncx = doc(books["month"], "EPUB/toc.ncx")
    labels = [t.text for t in ncx.iterfind(".//ncx:navPoint/ncx:navLabel/ncx:text", NS)]
    assert labels[:2] == ["January 2024", "Post 0"]


def test_thousands_of_posts(books):
    book = books["many"]
    chapters = [n for n in files(book) if re.search(r"/p\d{5}\.xhtml$", n)]
    assert len(chapters) == MANY
    years = toc(book)
    assert [label for label, _ in years] == [str(y) for y in range(2015, 2026)]
    assert sum(len(posts) for _, months in years for _, posts in months) == MANY
    page = doc(book, "EPUB/text/p00002.xhtml")
    assert page.xpath("//x:a[.='previous']", namespaces=NS)[0].get("href") == "p00001.xhtml"
    titles = [text(doc(book, n).find(".//x:h1", NS)) for n in chapters[:4]]
    assert titles == [  # untitled posts take their first words; equal titles stay
        "Post 0. previous top",
        "Weekly notes",
        "Post 2. previous top",
        "Weekly notes",
    ]


# ------------------------------------------------------------------------------ metadata


def test_metadata_publisher_subjects_source_and_css(books):
    book = books["notes"]
    opf = doc(book, "EPUB/content.opf")
    assert opf.findtext(".//dc:publisher", namespaces=NS) == "Me & Co"
    assert [e.text for e in opf.iterfind(".//dc:subject", NS)] == ["python", "writing"]
    assert opf.findtext(".//dc:source", namespaces=NS) == "https://notes.example.org/feed.xml"
    assert files(book)["EPUB/style/extra.css"] == CSS.encode()
    page = doc(book, "EPUB/text/p00001.xhtml")
    sheets = [link.get("href") for link in page.iterfind(".//x:link", NS)]
    assert sheets == ["../style/book.css", "../style/extra.css"]  # the reader's own comes last
    month = doc(books["month"], "EPUB/content.opf")
    assert month.find(".//dc:publisher", NS) is None  # no site, no publisher


def test_publisher_defaults_to_the_site():
    feed = Feed(
        title="S",
        home_page_url="https://www.site.example/blog/",
        authors=(Author(name="Ann"),),
        entries=(Entry(id="1", title="t", published=at(1), content_text="x"),),
    )
    opf = doc(build_book(feed), "EPUB/content.opf")
    assert opf.findtext(".//dc:publisher", namespaces=NS) == "site.example"


def write_rss(tmp_path: Path) -> Path:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<link>https://t.example/</link><item><title>One</title><link>https://t.example/1</link>"
        "<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate><category>news</category>"
        "<author>ann@t.example (Ann)</author><description>Hi</description></item>"
        "<item><title>Two</title><link>https://t.example/2</link>"
        "<pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate><author>bob@t.example (Bob)</author>"
        "<description>Yo</description></item></channel></rss>",
        encoding="utf-8",
    )
    return feed


def test_cli_overrides_source_date_epoch_and_author_options(tmp_path: Path):
    feed = write_rss(tmp_path)
    css = tmp_path / "extra.css"
    css.write_text(CSS, encoding="utf-8")
    args = ["to-epub", str(feed), "-o", "-", "--title", "Mine", "--author", "Zed"]
    args += ["--publisher", "P", "--language", "fr", "--css", str(css), "--by-author", "ann"]
    result = CliRunner().invoke(cli, args, env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert result.exit_code == 0, result.stderr
    book = result.stdout_bytes
    opf = doc(book, "EPUB/content.opf")
    assert opf.findtext(".//dc:title", namespaces=NS) == "Mine"
    assert [e.text for e in opf.iterfind(".//dc:creator", NS)] == ["Zed"]  # the book's author
    assert opf.findtext(".//dc:publisher", namespaces=NS) == "P"
    assert opf.findtext(".//dc:language", namespaces=NS) == "fr"
    modified = opf.findtext(".//opf:meta[@property='dcterms:modified']", namespaces=NS)
    assert modified == "2023-11-14T22:13:20Z"
    assert opf.findtext(".//dc:date", namespaces=NS) == "2024-01-01T10:00:00Z"  # newest post
    chapters = [n for n in files(book) if re.search(r"/p\d+\.xhtml$", n)]
    assert len(chapters) == 1  # --by-author selected Ann's post only
    assert files(book)["EPUB/style/extra.css"] == CSS.encode()
    help_text = " ".join(CliRunner().invoke(cli, ["to-epub", "--help"]).stdout.split())
    assert "--by-author" in help_text and "To select posts by author" in help_text


def test_cli_zero_items_after_filtering_writes_no_book(tmp_path: Path):
    feed = write_rss(tmp_path)
    out = tmp_path / "none.epub"
    result = CliRunner().invoke(cli, ["to-epub", str(feed), "-o", str(out), "--match", "zzz"])
    assert result.exit_code == ExitCode.OK
    assert "no items match" in result.stderr and not out.exists()


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="table of contents"):
        build_book(month_feed(), BookOptions(toc="week"))
