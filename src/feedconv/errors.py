"""The errors feedconv raises. Each carries one readable line for the user."""

from __future__ import annotations


class FeedconvError(Exception):
    """Base of every error feedconv reports to the user as one line."""

    def __str__(self) -> str:
        text = super().__str__()
        # Keep the promise of one line whatever the message carries.
        return " ".join(text.split())


class InputError(FeedconvError):
    """The input could not be read or is not a feed feedconv understands."""


class OutputError(FeedconvError):
    """The output cannot or must not be written (exists, outside the folder, I/O error)."""
