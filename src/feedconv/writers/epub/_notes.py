"""Footnotes: the same recognition as the Markdown converter, for EPUB 3 footnotes.

The Markdown converter knows the footnote markup of docutils/Nikola, WordPress/Jetpack,
kramdown/Hugo, Python-Markdown, pandoc, markdown-it and DPUB-ARIA. :func:`split_notes_of`
runs that recognition and returns the post with ``<fnref n>`` placeholders and the
notes' HTML; :func:`~._xhtml.html_body` turns them into ``epub:type="noteref"`` links and
``<aside epub:type="footnote">`` notes with links back, which readers show as pop-ups.
"""

from __future__ import annotations

from feedconv import markdown


def split_notes_of(post: tuple[str, str | None]) -> tuple[str, list[str]]:
    """(``html`` with footnote references as ``<fnref n>``, the notes' HTML in order) for
    one ``(html, page_url)`` pair (picklable, for mappers)."""
    html, page_url = post
    if not html.strip():
        return html, []
    return markdown.split_footnotes(html, page_url)
