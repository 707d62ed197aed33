"""Writers: turn a Feed into an output format (Markdown, EPUB, JSON Feed)."""
