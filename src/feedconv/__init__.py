"""feedconv: convert web feeds to Markdown, EPUB and JSON Feed."""

__version__ = "0.1.0"
