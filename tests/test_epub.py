"""EPUB writer: every book passes EPUBCheck, is deterministic, and has a dated TOC."""

from __future__ import annotations

import logging
import posixpath
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO

import pytest
from lxml import etree

from checks import NS
from feedconv.errors import InputError
from feedconv.model import Author, Enclosure, Entry, Feed
from feedconv.writers.epub import BookOptions, build_book

CEST = timezone(timedelta(hours=2))


def at(year: int, month: int, day: int, hour: int = 12, tz: timezone = UTC) -> datetime:
    return datetime(year, month, day, hour, tzinfo=tz)


# HTML that can survive cleaning but is not valid XHTML as it stands.
HOSTILE = (
    "<p id='dup'>first</p><p id='dup'>second</p><p id='1st'>bad id</p><a href='#1st'>jump</a>"
    "<p><div>block in a paragraph</div></p><p align='center'>centred</p>"
    "<a name='anchor'>named anchor</a><a href='#nowhere'>dead fragment</a>"
    "<img src='https://example.com/cat.png' alt='A cat' width='100%'><img src='https://example.com/x.png'>"
    "<p><a href='https://www.youtube.com/watch?v=x'>[video]</a></p>"
    "<table><tr><th>h</th></tr><tr><td colspan='x'>cell</td></tr></table>"
    "<a href='https://example.com/out'>outer <a href='https://example.com/in'>inner</a></a>"
    "<a href='http://example.com/a b'>space</a> <a href='javascript:x()'>js</a>"
    "<ul>loose text<li>item</li></ul><li>orphan item</li><ol start='two'><li>x</li></ol>"
    "<figure><img src='https://example.com/f.png' alt='fig'><figcaption>caption</figcaption>"
    "<p>after</p></figure><font color='red'>font</font><center>centre</center>"
    "<video src='https://example.com/v.mp4'></video><picture><img src='https://example.com/p.jpg'"
    " alt='pic'></picture><span><p>para in span</p></span><pre><div>pre block</div></pre>"
    "<dl><dd>dd first</dd></dl><time datetime='soon'>later</time>"
)


def blog_feed() -> Feed:
    entries = (
        Entry(
            id="urn:post:1",
            title="Hello world",
            link="https://blog.example.com/hello",
            authors=(Author(name="Ada"),),
            categories=("news", "meta"),
            published=at(2019, 11, 30, tz=CEST),
            content_html="<p>The <em>first</em> post.</p>",
        ),
        Entry(
            id="urn:post:2",
            title="Same title",
            published=at(2020, 1, 5),
            content_text="Plain text body.\n\nSecond paragraph\nwith a line break.",
        ),
        Entry(
            id="urn:post:3", title="Same title", published=at(2020, 1, 9), summary="Only a summary"
        ),
        Entry(
            id="urn:post:4",
            title=None,
            updated=at(2020, 3, 1),
            content_html="<p>A post without any title at all, long enough to cut.</p>",
        ),
        Entry(
            id="urn:post:5",
            title="Hostile HTML",
            link="https://blog.example.com/hostile",
            published=at(2021, 7, 4),
            content_html=HOSTILE,
        ),
        # Same instant as post 5: the id breaks the tie.
        Entry(id="urn:post:0", title="Tie", published=at(2021, 7, 4), content_html="<p>tie</p>"),
        Entry(
            id="urn:post:6",
            title="Podcast",
            published=at(2021, 7, 20),
            enclosures=(Enclosure(url="https://cdn.example.com/ep.mp3", media_type="audio/mpeg"),),
        ),
        Entry(
            id="urn:undated:b",
            title="Undated B",
            language="ar",
            content_html="<p>مرحبا بالعالم</p>",
        ),
        Entry(id="urn:undated:a", title=None, content_html="<img src='https://e.com/i.png'>"),
    )
    return Feed(
        title="Example blog",
        home_page_url="https://blog.example.com/",
        feed_url="https://blog.example.com/feed.xml",
        description="Notes & essays",
        language="en-GB",
        authors=(Author(name="Ada"), Author(email="bob@example.com")),
        entries=entries,
    )


def rtl_feed() -> Feed:
    return Feed(
        title="وبلاگ فارسی",
        language="fa-IR",
        feed_url="https://fa.example.com/feed",
        entries=(
            Entry(id="1", title="سلام دنیا", published=at(2022, 3, 21), content_html="<p>متن</p>"),
            Entry(id="2", title=None, published=at(2022, 4, 1), content_text="پست بدون عنوان"),
        ),
    )


def cjk_feed() -> Feed:
    return Feed(
        title="日本語のブログ",
        language="ja",
        home_page_url="https://ja.example.com/",
        entries=(
            Entry(
                id="1",
                title=None,
                published=at(2023, 5, 1, tz=timezone(timedelta(hours=9))),
                content_html="<p><ruby>漢字<rp>(</rp><rt>かんじ</rt><rp>)</rp></ruby>の"
                "テストです。これはとても長い日本語の文章で、スペースがありません。</p>",
            ),
            Entry(id="2", title="二つ目", published=at(2023, 6, 2), content_html="<p>本文</p>"),
        ),
    )


BIG_PARAGRAPH = "<p>Lorem ipsum <b>dolor</b> sit amet, <a href='https://e.com/x'>link</a>.</p>\n"
BIG_COUNT = 1_048_576 // len(BIG_PARAGRAPH) + 1  # a body of more than 1 MB


def big_feed() -> Feed:
    body = BIG_PARAGRAPH * BIG_COUNT
    return Feed(
        title="Big",
        entries=(Entry(id="big", title="Big", published=at(2020, 2, 2), content_html=body),),
    )


@pytest.fixture(scope="module")
def books() -> dict[str, bytes]:
    return {
        "blog": build_book(blog_feed()),
        "blog-newest": build_book(blog_feed(), BookOptions(newest_first=True)),
        "rtl": build_book(rtl_feed()),
        "cjk": build_book(cjk_feed()),
        "big": build_book(big_feed()),
    }


@pytest.fixture(scope="module")
def reports(books, epubcheck):
    # newest_first only reorders the same documents: not worth another JVM run.
    return epubcheck.many({k: v for k, v in books.items() if k != "blog-newest"})


# --------------------------------------------------------------------------- helpers


def read(book: bytes, name: str) -> etree._Element:
    with zipfile.ZipFile(BytesIO(book)) as z:
        return etree.fromstring(z.read(name))


def names(book: bytes) -> list[str]:
    with zipfile.ZipFile(BytesIO(book)) as z:
        return z.namelist()


def documents(book: bytes) -> dict[str, etree._Element]:
    return {n: read(book, n) for n in names(book) if n.endswith(".xhtml")}


def text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def nav_tree(book: bytes) -> list[tuple[str, str, list]]:
    """The TOC nav as nested (label, href, children), hrefs relative to the package."""
    nav = read(book, "EPUB/nav.xhtml")
    [toc] = nav.xpath("//x:nav[@epub:type='toc']", namespaces=NS)

    def walk(ol: etree._Element) -> list[tuple[str, str, list]]:
        items = []
        for li in ol.findall("x:li", NS):
            a = li.find("x:a", NS)
            assert a is not None, "every TOC entry must be a link"
            inner = li.find("x:ol", NS)
            children = walk(inner) if inner is not None else []
            items.append((text(a), posixpath.normpath("EPUB/" + a.get("href")), children))
        return items

    return walk(toc.find("x:ol", NS))


def chapter_titles(book: bytes) -> list[str]:
    return [
        text(doc.find(".//x:h1", NS))
        for name, doc in sorted(documents(book).items())
        if re.search(r"/p\d+\.xhtml$", name)
    ]


def spine(book: bytes) -> list[str]:
    opf = read(book, "EPUB/content.opf")
    hrefs = {i.get("id"): i.get("href") for i in opf.iterfind(".//opf:item", NS)}
    return [hrefs[ref.get("idref")] for ref in opf.iterfind(".//opf:itemref", NS)]


# ---------------------------------------------------------------------------- validity


@pytest.mark.parametrize("name", ["blog", "rtl", "cjk", "big"])
def test_book_passes_epubcheck(reports, name):
    errors, warnings = reports[name]
    assert errors == []
    assert warnings == []


def test_epubcheck_fixture_reports_problems(epubcheck, books):
    """The validator is really looking: a remote image and a bad attribute are caught."""
    src = BytesIO(books["cjk"])
    out = BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "EPUB/text/p00002.xhtml":
                data = data.replace(b"<h1>", b'<h1 align="x"><img src="https://e.com/r.png"/>')
            zout.writestr(info, data)
    errors, _ = epubcheck(out.getvalue(), "broken")
    assert any("RSC-006" in e for e in errors)  # remote resource
    assert any("align" in e for e in errors)


def test_no_remote_resources(books):
    """Every resource a document uses is a file of the book (here: only the cover)."""
    for book in books.values():
        files = set(names(book))
        for name, doc in documents(book).items():
            for element in doc.iter():
                for attribute in ("poster", "srcset", "data"):
                    assert element.get(attribute) is None, (name, element.tag)
                src = element.get("src")
                if src is not None:
                    assert name == "EPUB/text/cover.xhtml", (name, src)
                    assert posixpath.normpath(posixpath.join("EPUB/text", src)) in files


def test_documents_are_namespaced_xhtml_with_language(books):
    for book in books.values():
        lang = read(book, "EPUB/content.opf").findtext(".//dc:language", namespaces=NS)
        for doc in documents(book).values():
            assert doc.tag == f"{{{NS['x']}}}html"
            assert doc.get("lang") == lang
            assert doc.get("{http://www.w3.org/XML/1998/namespace}lang") == lang


# ----------------------------------------------------------------------- determinism


def test_same_input_same_bytes(books):
    assert build_book(blog_feed()) == books["blog"]
    assert build_book(big_feed()) == books["big"]


def test_zip_layout_is_fixed(books):
    with zipfile.ZipFile(BytesIO(books["blog"])) as z:
        infos = z.infolist()
    assert infos[0].filename == "mimetype"
    assert infos[0].compress_type == zipfile.ZIP_STORED
    assert not infos[0].extra
    assert {info.date_time for info in infos} == {(2021, 7, 20, 12, 0, 0)}  # newest post


def test_modified_comes_from_options_else_newest_post_else_constant():
    feed = blog_feed()
    opf = read(build_book(feed), "EPUB/content.opf")
    modified = opf.findtext(".//opf:meta[@property='dcterms:modified']", namespaces=NS)
    assert modified == "2021-07-20T12:00:00Z"

    fixed = datetime(2024, 2, 29, 8, 30, tzinfo=CEST)
    book = build_book(feed, BookOptions(modified=fixed))
    opf = read(book, "EPUB/content.opf")
    modified = opf.findtext(".//opf:meta[@property='dcterms:modified']", namespaces=NS)
    assert modified == "2024-02-29T06:30:00Z"
    with zipfile.ZipFile(BytesIO(book)) as z:
        assert {i.date_time for i in z.infolist()} == {(2024, 2, 29, 6, 30, 0)}

    undated = Feed(title="u", entries=(Entry(id="1", title="t", content_text="x"),))
    opf = read(build_book(undated), "EPUB/content.opf")
    modified = opf.findtext(".//opf:meta[@property='dcterms:modified']", namespaces=NS)
    assert modified == "2000-01-01T00:00:00Z"


# -------------------------------------------------------------------------- metadata


def test_metadata(books):
    opf = read(books["blog"], "EPUB/content.opf")

    def dc(name: str) -> list[str]:
        return [e.text for e in opf.iterfind(f".//dc:{name}", NS)]

    expected_uid = uuid.uuid5(uuid.NAMESPACE_URL, "https://blog.example.com/feed.xml")
    assert dc("identifier") == [f"urn:uuid:{expected_uid}"]
    assert dc("title") == ["Example blog"]
    assert dc("creator") == ["Ada", "bob@example.com"]
    assert dc("language") == ["en-GB"]
    assert dc("date") == ["2021-07-20T12:00:00Z"]
    assert dc("source") == ["https://blog.example.com/feed.xml"]
    assert dc("description") == ["Notes & essays"]
    ncx = read(books["blog"], "EPUB/toc.ncx")
    uid = ncx.find(".//ncx:meta[@name='dtb:uid']", NS)
    assert uid is not None and uid.get("content") == f"urn:uuid:{expected_uid}"


def test_options_override_metadata():
    options = BookOptions(title="My book", author="Me", language="de")
    opf = read(build_book(blog_feed(), options), "EPUB/content.opf")
    assert opf.findtext(".//dc:title", namespaces=NS) == "My book"
    assert [e.text for e in opf.iterfind(".//dc:creator", NS)] == ["Me"]
    assert opf.findtext(".//dc:language", namespaces=NS) == "de"


def test_defaults_for_an_unknown_feed(caplog):
    feed = Feed(language="not a language!", entries=(Entry(id="x", content_text="hi"),))
    with caplog.at_level(logging.WARNING, logger="feedconv.writers.epub"):
        opf = read(build_book(feed), "EPUB/content.opf")
    assert opf.findtext(".//dc:title", namespaces=NS) == "Untitled feed"
    assert opf.findtext(".//dc:language", namespaces=NS) == "en"
    assert opf.find(".//dc:date", NS) is None
    assert "invalid language" in caplog.text


def test_empty_feed_is_refused():
    with pytest.raises(InputError, match="no items"):
        build_book(Feed(title="Empty"))


# ------------------------------------------------------------------ structure and TOC


def test_toc_groups_years_months_posts(books):
    book = books["blog"]
    toc = nav_tree(book)
    assert [(label, [m for m, _, _ in months]) for label, _, months in toc] == [
        ("2019", ["November 2019"]),
        ("2020", ["January 2020", "March 2020"]),
        ("2021", ["July 2021"]),
        ("Undated", ["Untitled", "Undated B"]),  # posts directly, ordered by id
    ]
    posts = {month: [p for p, _, _ in ps] for _, _, months in toc[:-1] for month, _, ps in months}
    assert posts["January 2020"] == ["Same title", "Same title"]
    assert posts["March 2020"] == ["A post without any title at all, long…"]
    assert posts["July 2021"] == ["Tie", "Hostile HTML", "Podcast"]
    assert all(children == [] for _, _, children in toc[-1][2])


def test_every_toc_href_resolves(books):
    for book in books.values():
        files = set(names(book))
        stack = list(nav_tree(book))
        while stack:
            label, href, children = stack.pop()
            assert href in files, (label, href)
            stack.extend(children)
        ncx = read(book, "EPUB/toc.ncx")
        for content in ncx.iterfind(".//ncx:content", NS):
            assert "EPUB/" + content.get("src") in files
        landmarks = read(book, "EPUB/nav.xhtml").xpath(
            "//x:nav[@epub:type='landmarks']//x:a", namespaces=NS
        )
        assert {a.get(f"{{{NS['epub']}}}type") for a in landmarks} >= {"toc", "bodymatter"}
        for a in landmarks:
            assert posixpath.normpath("EPUB/" + a.get("href")) in files


def test_ncx_mirrors_the_nav(books):
    ncx = read(books["blog"], "EPUB/toc.ncx")

    def walk(parent: etree._Element) -> list:
        return [
            (point.findtext("ncx:navLabel/ncx:text", namespaces=NS), walk(point))
            for point in parent.findall("ncx:navPoint", NS)
        ]

    def strip(items: list) -> list:
        return [(label, strip(children)) for label, _, children in items]

    assert walk(ncx.find("ncx:navMap", NS)) == strip(nav_tree(books["blog"]))


def test_group_pages_are_in_the_spine_and_list_their_posts(books):
    book = books["blog"]
    order = spine(book)
    assert order[:3] == ["text/cover.xhtml", "text/title.xhtml", "text/contents.xhtml"]
    assert "nav.xhtml" not in order  # the inline contents page is the one in the spine
    assert order[3:7] == [
        "text/y2019.xhtml",
        "text/m2019-11.xhtml",
        "text/p00001.xhtml",
        "text/y2020.xhtml",
    ]
    opf = read(book, "EPUB/content.opf")
    assert all(ref.get("linear") != "no" for ref in opf.iterfind(".//opf:itemref", NS))
    year = read(book, "EPUB/text/y2020.xhtml")
    links = [a.get("href") for a in year.iterfind(".//x:a", NS)]
    assert links == [
        "m2020-01.xhtml",
        "p00002.xhtml",
        "p00003.xhtml",
        "m2020-03.xhtml",
        "p00004.xhtml",
    ]
    month = read(book, "EPUB/text/m2021-07.xhtml")
    assert [text(a) for a in month.iterfind(".//x:a", NS)] == ["Tie", "Hostile HTML", "Podcast"]


def test_newest_first_flips_the_order_but_keeps_undated_last(books):
    toc = nav_tree(books["blog-newest"])
    assert [label for label, _, _ in toc] == ["2021", "2020", "2019", "Undated"]
    assert [m for m, _, _ in toc[1][2]] == ["March 2020", "January 2020"]
    assert [p for p, _, _ in toc[0][2][0][2]] == ["Podcast", "Hostile HTML", "Tie"]


def test_title_page(books):
    page = read(books["blog"], "EPUB/text/title.xhtml")
    content = text(page.find("x:body", NS))
    assert "Example blog" in content
    assert "Notes & essays" in content
    assert "Posts from 30 November 2019 – 20 July 2021" in content
    assert "9 posts" in content
    assert page.find(".//x:a[@href='https://blog.example.com/']", NS) is not None


def test_chapter_has_title_byline_and_body(books):
    page = read(books["blog"], "EPUB/text/p00001.xhtml")
    assert text(page.find(".//x:h1", NS)) == "Hello world"
    byline = page.find(".//x:p[@class='byline']", NS)
    time = byline.find(".//x:time", NS)
    assert time.get("datetime") == "2019-11-30T12:00:00+02:00"
    assert text(time) == "30 November 2019"
    assert "by Ada" in text(byline) and "in news, meta" in text(byline)
    assert byline.find(".//x:a[@href='https://blog.example.com/hello']", NS) is not None
    assert "The first post." in text(page.find(".//x:div[@class='content']", NS))

    plain = read(books["blog"], "EPUB/text/p00002.xhtml")
    paragraphs = plain.findall(".//x:div[@class='content']/x:p", NS)
    assert [p.text for p in paragraphs] == ["Plain text body.", "Second paragraph"]
    assert paragraphs[1][0].tag == f"{{{NS['x']}}}br"
    assert paragraphs[1][0].tail == "with a line break."
    podcast = read(books["blog"], "EPUB/text/p00007.xhtml")
    assert podcast.find(".//x:a[@href='https://cdn.example.com/ep.mp3']", NS) is not None


def test_hostile_html_is_repaired_not_dropped(books):
    [name] = [
        n
        for n, doc in documents(books["blog"]).items()
        if "Hostile HTML" in text(doc) and re.search(r"/p\d+\.xhtml$", n)
    ]
    page = read(books["blog"], name)
    body = page.find(".//x:div[@class='content']", NS)
    content = text(body)
    for kept in (
        "first",
        "second",
        "block in a paragraph",
        "centred",
        "named anchor",
        "cell",
        "outer inner",
        "loose text",
        "orphan item",
        "caption",
        "pre block",
        "later",
    ):
        assert kept in content
    ids = [e.get("id") for e in body.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) and "dup" in ids and "anchor" in ids
    assert all(re.match(r"^[A-Za-z_][\w.\-]*$", i) for i in ids)
    jump = [a for a in body.iterfind(".//x:a", NS) if text(a) == "jump"]
    assert jump and jump[0].get("href")[1:] in ids
    assert "dead fragment" in content
    assert not [a for a in body.iterfind(".//x:a", NS) if text(a) == "dead fragment"]
    assert body.find(".//x:a[@href='https://example.com/cat.png']", NS) is not None
    assert "[image: A cat]" in content and "[image]" in content and "[video]" in content
    assert not body.xpath(".//x:a//x:a", namespaces=NS)
    assert not body.xpath(".//x:p//x:div | .//x:span//x:p | .//x:pre//x:div", namespaces=NS)
    assert not body.xpath(".//@align | .//@width | .//@name | .//@start", namespaces=NS)
    assert not [a for a in body.iterfind(".//x:a", NS) if text(a) in ("space", "js")]
    for table in body.iterfind(".//x:table", NS):
        assert [child.tag.split("}")[1] for child in table] == ["tbody"]
    for figure in body.iterfind(".//x:figure", NS):
        assert figure[-1].tag == f"{{{NS['x']}}}figcaption"


def test_untitled_posts_get_a_title_from_their_words(books):
    assert "A post without any title at all, long…" in chapter_titles(books["blog"])
    assert "Untitled" in chapter_titles(books["blog"])  # only an image
    [first] = [t for t in chapter_titles(books["cjk"]) if t != "二つ目"]
    assert first.startswith("漢字 かんじ の") or first.startswith("漢字")


def test_entry_language_marks_its_chapter(books):
    [page] = [d for d in documents(books["blog"]).values() if "مرحبا" in text(d)]
    body = page.find("x:body", NS)
    assert (body.get("lang"), body.get("dir")) == ("ar", "rtl")
    assert page.get("lang") == "en-GB"


def test_rtl_feed(books):
    book = books["rtl"]
    opf = read(book, "EPUB/content.opf")
    assert opf.find(".//opf:spine", NS).get("page-progression-direction") == "rtl"
    for name, doc in documents(book).items():
        if name != "EPUB/nav.xhtml":
            assert doc.get("dir") == "rtl", name
        assert doc.find("x:body", NS).get("dir") == "rtl", name
    assert "پست بدون عنوان" in chapter_titles(book)


def test_cjk_feed(books):
    book = books["cjk"]
    assert (
        read(book, "EPUB/content.opf").find(".//opf:spine", NS).get("page-progression-direction")
        is None
    )
    page = read(book, "EPUB/text/p00001.xhtml")
    assert page.get("lang") == "ja"
    assert page.find(".//x:ruby/x:rt", NS) is not None
    assert page.find(".//x:rp", NS) is None  # rp is a discouraged construct in EPUB
    assert page.find(".//x:time", NS).get("datetime") == "2023-05-01T12:00:00+09:00"


def test_big_body_is_kept_whole(books):
    page = read(books["big"], "EPUB/text/p00001.xhtml")
    paragraphs = page.findall(".//x:div[@class='content']/x:p", NS)
    assert len(paragraphs) == BIG_COUNT
    assert text(paragraphs[-1]) == "Lorem ipsum dolor sit amet, link."
