"""Assertions shared by several test modules."""

from __future__ import annotations

import lxml.html


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
