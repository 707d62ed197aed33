"""Golden cases: tests/data/html/<case>.txt holds HTML, a line "<!-- output -->", and the
Markdown expected after clean_fragment (base https://example.com/post/) and
html_to_markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedconv.htmlclean import clean_fragment
from feedconv.markdown import html_to_markdown

CASES = Path(__file__).parent / "data" / "html"
SEPARATOR = "\n<!-- output -->\n"
BASE_URL = "https://example.com/post/"


def load_case(path: Path) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    assert text.count(SEPARATOR) == 1, f"{path.name}: needs exactly one output separator"
    source, expected = text.split(SEPARATOR)
    return source, expected


def convert(source: str) -> str:
    return html_to_markdown(clean_fragment(source, BASE_URL))


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
