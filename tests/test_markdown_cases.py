"""Golden cases: tests/data/html/<case>.txt holds HTML, a line "<!-- output -->", and the
Markdown expected after clean_fragment (base https://example.com/post/) and
html_to_markdown (the same URL as the post's own page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedconv.htmlclean import clean_fragment
from feedconv.markdown import Conversion, MarkdownOptions, html_to_markdown, image_sources
from feedconv.markdown import convert as convert_md

CASES = Path(__file__).parent / "data" / "html"
SEPARATOR = "\n<!-- output -->\n"
BASE_URL = "https://example.com/post/"


def load_case(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    assert text.count(SEPARATOR) == 1, f"{path.name}: needs exactly one output separator"
    source, expected = text.split(SEPARATOR)
    return source, expected


def convert(source: str, flavor: str = "gfm") -> str:
    return html_to_markdown(clean_fragment(source, BASE_URL), flavor=flavor, page_url=BASE_URL)


def convert_with(html: str, options: MarkdownOptions) -> str:
    result: Conversion = convert_md(html, options)
    return result.markdown


@pytest.mark.parametrize("path", sorted(CASES.glob("*.txt")), ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    source, expected = load_case(path)
    assert convert(source) == expected


def test_there_are_cases() -> None:
    assert len(list(CASES.glob("*.txt"))) >= 20


@pytest.mark.parametrize("empty", ["", "   ", "\n"])
def test_empty_fragment_gives_empty_markdown(empty: str) -> None:
    assert html_to_markdown(empty) == ""


@pytest.mark.parametrize("tag", ["div", "blockquote", "b", "span", "ul"])
def test_deep_nesting_is_flattened_not_fatal(tag: str, caplog: pytest.LogCaptureFixture) -> None:
    source = f"<{tag}>" * 1_500 + "deep text"  # cleaned HTML keeps 2048 levels
    with caplog.at_level("WARNING", logger="feedconv.markdown"):
        markdown = html_to_markdown(clean_fragment(source))
    assert "flattened" in caplog.text
    assert "deep text" in markdown
    assert markdown.endswith("\n") and not markdown.endswith("\n\n")


@pytest.mark.parametrize("path", sorted(CASES.glob("*.txt")), ids=lambda p: p.stem)
def test_output_is_normalized_and_stable(path: Path) -> None:
    source, _ = load_case(path)
    cleaned = clean_fragment(source, BASE_URL)
    markdown = html_to_markdown(cleaned)
    assert markdown == html_to_markdown(cleaned)
    if markdown:
        assert markdown.endswith("\n") and not markdown.endswith("\n\n")
        assert not markdown.startswith("\n")
    assert all(line == line.rstrip() for line in markdown.split("\n"))
    assert "\n\n\n" not in markdown.replace("```\n", "")


def test_short_text_is_not_taken_for_a_file_name() -> None:
    # BeautifulSoup warns about markup that looks like a URL or a file name.
    assert html_to_markdown("https://example.com/a.html") == "https://example.com/a.html\n"
    assert html_to_markdown("notes.txt") == "notes.txt\n"


# --- flavors and options -------------------------------------------------------------

FLAVOR_SOURCE = (
    "<p><mark>hi</mark> <del>old</del> $5 and #tag ~x~</p>"
    '<div class="admonition note"><p class="admonition-title">Note</p><p>Body.</p></div>'
)


def test_gfm_flavor() -> None:
    assert convert(FLAVOR_SOURCE) == (
        "<mark>hi</mark> ~~old~~ $5 and #tag \\~x\\~\n\n> [!NOTE]\n> Body.\n"
    )


def test_commonmark_flavor_has_no_extensions() -> None:
    assert convert(FLAVOR_SOURCE, "commonmark") == (
        "<mark>hi</mark> <del>old</del> $5 and #tag ~x~\n\n> **Note**\n>\n> Body.\n"
    )


def test_obsidian_flavor() -> None:
    assert convert(FLAVOR_SOURCE, "obsidian") == (
        "==hi== ~~old~~ \\$5 and \\#tag \\~x\\~\n\n> [!note]\n> Body.\n"
    )


def test_unknown_flavor_is_refused() -> None:
    with pytest.raises(ValueError, match="flavor"):
        html_to_markdown("<p>x</p>", flavor="markdown_strict")


def test_downloaded_images_are_linked_locally_and_embedded_in_obsidian() -> None:
    html = (
        '<p><img src="https://example.com/a.png" alt="A"> '
        '<img src="https://example.com/b.png" alt="12"></p>'
    )
    local = {"https://example.com/a.png": "images/a 1.png", "https://example.com/b.png": "b.png"}
    gfm = convert_with(html, MarkdownOptions(images=local))
    assert gfm == "![A](images/a%201.png) ![12](b.png)\n"
    obsidian = convert_with(html, MarkdownOptions(flavor="obsidian", images=local))
    assert obsidian == "![[images/a 1.png|A]] ![[b.png]]\n"


def test_footnotes_continue_from_footnote_start() -> None:
    html = (
        '<p>a<sup><a href="#fn1">1</a></sup></p><ol class="footnotes"><li id="fn1">Note.</li></ol>'
    )
    result = convert_md(html, MarkdownOptions(footnote_start=7))
    assert result.markdown == "a[^7]\n\n[^7]: Note.\n"
    assert result.footnotes == 1


def test_a_link_to_a_section_is_not_a_footnote() -> None:
    html = '<p><a href="#part">part</a></p><h2 id="part">Part</h2><p>text</p>'
    assert "[part](#part)" in convert(html)


def test_top_heading_only_moves_headings_that_are_too_high() -> None:
    assert html_to_markdown("<h2>a</h2><h3>b</h3>", top_heading=2) == "## a\n\n### b\n"
    assert html_to_markdown("<h1>a</h1><h2>b</h2>", top_heading=2) == "## a\n\n### b\n"
    assert html_to_markdown("<h5>a</h5><h6>b</h6>", top_heading=1) == "##### a\n\n###### b\n"


def test_image_sources_are_the_urls_the_markdown_shows() -> None:
    html = clean_fragment(
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="'
        ' data-src="/lazy.jpg"><img src="/a.png"><img src="/a.png">'
        '<img srcset="/s1.jpg 1x, /s2.jpg 2x">',
        BASE_URL,
    )
    assert list(image_sources(html)) == [
        "https://example.com/lazy.jpg",
        "https://example.com/a.png",
        "https://example.com/s2.jpg",
    ]


def test_a_footnote_inside_another_footnote_is_converted_not_fatal() -> None:
    # A damaged feed left the second note's anchor (and its text) inside the first note.
    source = (
        f'<p>A<a role="doc-noteref" href="{BASE_URL}#fn-1">1</a>'
        f' B<a role="doc-noteref" href="{BASE_URL}#fn-2">2</a></p>'
        '<aside class="footnote" id="fn-1"><a href="https://example.org/" id="fn-2">'
        "<p>Two</p></a></aside>"
    )
    assert convert(source) == "A[^1] B[^2]\n\n[^1]:\n\n[^2]: [Two](https://example.org/)\n"
