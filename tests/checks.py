"""Assertions shared by several test modules."""

from __future__ import annotations

import lxml.html

#: The namespaces of an EPUB 3 book's files, for XPath in the EPUB tests.
NS = {
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "svg": "http://www.w3.org/2000/svg",
}


def elements(fragment: str) -> list[lxml.html.HtmlElement]:
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [el for el in root.iter() if el is not root]


def assert_inert(fragment: str) -> None:
    """No script-capable element, event handler, style or dangerous URL survived."""
    for el in elements(fragment):
        assert el.tag not in {"script", "style", "iframe", "object", "embed", "svg", "base"}
        assert el.tag not in {"meta", "link", "form", "input", "textarea", "frame"}
        for name, value in el.attrib.items():
            assert not name.startswith("on"), (name, fragment)
            assert name not in {"style", "srcdoc", "formaction", "target"}, fragment
            squashed = "".join(value.split()).lower()
            assert not squashed.startswith(("javascript:", "vbscript:")), fragment
            if squashed.startswith("data:"):
                assert el.tag == "img" and name == "src", fragment
                assert squashed.startswith("data:image/"), fragment
