"""A post's body converted on its own (as the pool does) and adopted into the book:
ids stay unique across the book, links inside the post follow renamed ids, image slots
and links to other posts are found again, warnings reach the main process once."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from lxml import etree

from feedconv import markdown
from feedconv.htmlclean import parse_fragment
from feedconv.writers.epub import _xhtml as x
from feedconv.writers.epub._parts import adopt_part, convert_part

PAGE = "https://example.org/a/"


def book_context(used: set[str] | None = None) -> x.Context:
    return x.Context(page_url=PAGE, used=set(used or ()), suffixes={}, own_file="p1.xhtml")


def test_ids_taken_elsewhere_in_the_book_are_renamed_with_their_links():
    html = '<p id="intro">Intro</p><p><a href="#intro">back up</a> <a href="#end">down</a></p>'
    html += '<p id="end">End</p>'
    part = pickle.loads(pickle.dumps(convert_part("link", (html, PAGE, "post"))))
    context = book_context({"intro"})
    content, notes = adopt_part(part, context, {})
    assert notes is None
    ids = [e.get("id") for e in content.iter() if e.get("id")]
    assert ids == ["intro-2", "end"]
    hrefs = [a.get("href") for a in content.iter("a")]
    assert hrefs == ["#intro-2", "#end"]
    assert context.ids == {"intro": "intro-2", "end": "end"}
    assert {"intro", "intro-2", "end"} <= context.used


def test_footnotes_keep_their_links_both_ways_after_renaming():
    html = (
        '<p>Text<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup></p>'
        '<div class="footnotes"><ol><li id="fn:1"><p>The note. '
        '<a class="footnote-backref" href="#fnref:1">↩</a></p></li></ol></div>'
    )
    first = book_context()
    adopt_part(convert_part("link", (html, PAGE, "one")), first, {})
    taken = set(first.used)
    second = x.Context(page_url=PAGE, used=first.used, suffixes=first.suffixes, own_file="p2.xhtml")
    content, notes = adopt_part(convert_part("link", (html, PAGE, "two")), second, {})
    assert notes is not None
    ids = {e.get("id") for tree in (content, notes) for e in tree.iter() if e.get("id")}
    assert ids and ids.isdisjoint(taken)  # the same post twice: every id renamed
    for tree in (content, notes):
        for link in tree.iter("a"):
            href = link.get("href") or ""
            if href.startswith("#"):
                assert href[1:] in ids, href  # every link inside the post still lands
    noteref = next(a for a in content.iter("a") if a.get("class") == "noteref")
    assert noteref.get("href")[1:] in {e.get("id") for e in notes.iter() if e.get("id")}


def test_image_slots_and_links_to_other_posts_are_found_again():
    html = (
        '<p><img src="https://img.example.org/one.png" alt="One"></p>'
        '<p><a href="https://example.org/b/#part">to B</a>'
        ' <a href="https://example.org/c/">to C</a>'
        ' <a href="https://example.org/elsewhere/">away</a>'
        ' <a href="https://example.org/a/">self</a></p>'
    )
    part = pickle.loads(pickle.dumps(convert_part("embed", (html, PAGE, "post"))))
    chapters = {
        x.link_key("https://example.org/b/"): "p2.xhtml",
        x.link_key("https://example.org/c/"): "p3.xhtml",
        x.link_key(PAGE): "p1.xhtml",
    }
    context = book_context()
    content, _ = adopt_part(part, context, chapters)
    assert [(s.element.tag, s.sources, s.alt) for s in context.image_slots] == [
        ("img", ("https://img.example.org/one.png",), "One")
    ]
    assert context.image_slots[0].element.getroottree().getroot() is content.getroottree().getroot()
    assert [(link.text, file, fragment) for link, file, fragment in context.cross_links] == [
        ("to B", "p2.xhtml", "part")
    ]
    links = {a.text: dict(a.attrib) for a in content.iter("a")}
    assert links == {  # chapters of the book, then pages on the web (the post's own too)
        "to B": {"href": "p2.xhtml"},
        "to C": {"href": "p3.xhtml"},
        "away": {"href": "https://example.org/elsewhere/", "rel": "noopener"},
        "self": {"href": "https://example.org/a/", "rel": "noopener"},
    }
    marks = [k for e in content.iter() for k in e.attrib if k.startswith("data-feedconv")]
    assert marks == []


def test_warnings_are_logged_once_by_the_main_process(caplog):
    with caplog.at_level(logging.WARNING, logger="feedconv"):
        part = convert_part("link", ("\x01\x02", PAGE, "entry 'x'"))
        assert caplog.records == []  # held back, not printed by the worker
        adopt_part(part, book_context(), {})
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["entry 'x': could not parse the HTML body; kept it as text"]


CASES = Path(__file__).resolve().parent / "data" / "html"


def _with_notes() -> list[str]:
    """Every golden case whose HTML holds footnotes, and one with a tag name that lxml's
    HTML parser accepts and its element API refuses (``o:p``, from word processors)."""
    sources = [
        p.read_text(encoding="utf-8").split("\n<!-- output -->\n")[0] for p in CASES.glob("*.txt")
    ]
    sources.append(
        '<p>Text<sup><a href="#fn1" id="r1">1</a></sup><o:p></o:p></p>'
        '<ol class="footnotes"><li id="fn1">The note <a href="#r1">↩</a></li></ol>'
    )
    return [html for html in sources if markdown.split_footnotes(html, PAGE)[1]]


def test_footnote_tree_is_what_parsing_its_html_gives():
    cases = _with_notes()
    assert len(cases) >= 6
    for html in cases:
        body = parse_fragment(html)
        soup = markdown._soup_of(body)
        assert markdown._extract_footnotes(soup, PAGE)
        expected = etree.tostring(parse_fragment(soup.body.decode_contents()))
        tree, _notes = markdown.split_footnotes(html, PAGE)
        assert etree.tostring(tree) == expected, html
        if "<o:p>" not in html:
            assert etree.tostring(markdown._tree_of(soup.body)) == expected, html
    with pytest.raises(ValueError):
        etree.Element("o:p")  # why split_footnotes parses that case instead
