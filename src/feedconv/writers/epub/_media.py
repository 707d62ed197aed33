"""The images of a book: each source loaded once, made fit for readers, named by content.

Chapters leave :class:`~._xhtml.ImageSlot` placeholders; :func:`embed_images` loads
every slot's sources (concurrently, through :mod:`feedconv.images`), tries a slot's next
source when one fails, and fills the slots in reading order: a ``src`` pointing into the
book, or, when no source works or the book's image budget is spent, ``[image: alt]`` as
a link to the image on the web and one warning naming the post and the URL. The book
never references a remote resource.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from feedconv import images
from feedconv.writers.epub._xhtml import ImageSlot, logger, replace_image, safe_url

IMAGE_FOLDER = "images"
_ROUNDS = 3  # sources tried per image, at most


@dataclass(frozen=True)
class ImagePolicy:
    """How images are fetched and made fit (see :class:`feedconv.writers.epub.BookOptions`)."""

    timeout: float = images.DEFAULT_TIMEOUT
    max_bytes: int = images.DEFAULT_MAX_BYTES
    max_book_bytes: int = 200 * 1024 * 1024
    workers: int = 8
    max_size: tuple[int, int] | None = None
    svg: bool = True
    base_dir: Path | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class BookImage:
    file_name: str  # relative to the package folder
    media_type: str
    data: bytes


def _reason(ref: str, message: str) -> str:
    """The failure without the URL that the warning names anyway."""
    for prefix in (f"{ref}: ", f"{ref[:60]}…: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def embed_images(
    posts: Sequence[tuple[str, Sequence[ImageSlot]]], policy: ImagePolicy
) -> list[BookImage]:
    """Fill the image slots of each (post label, slots); return the files to add."""
    cache = images.ImageCache(policy.cache_dir) if policy.cache_dir is not None else None
    prepare = partial(images.prepare_for_book, max_size=policy.max_size, svg=policy.svg)
    fetch = partial(
        images.fetch_all,
        timeout=policy.timeout,
        max_bytes=policy.max_bytes,
        workers=policy.workers,
        base_dir=policy.base_dir,
        cache=cache,
        prepare=prepare,
    )
    slots = [slot for _, post_slots in posts for slot in post_slots]
    results: dict[str, images.Image | str] = {}
    for round_number in range(_ROUNDS):
        wanted = []
        for slot in slots:
            tried = slot.sources[: round_number + 1]
            if len(tried) > round_number and not any(
                isinstance(results.get(ref), images.Image) for ref in tried[:-1]
            ):
                wanted.append(tried[-1])
        wanted = [ref for ref in dict.fromkeys(wanted) if ref not in results]
        if not wanted:
            break
        results.update(fetch(wanted))

    files: dict[str, BookImage] = {}  # content hash → file
    by_ref: dict[str, str] = {}
    total = 0
    for label, post_slots in posts:
        warned: set[str] = set()
        for slot in post_slots:
            chosen = next(
                (
                    (ref, results[ref])
                    for ref in slot.sources
                    if isinstance(results.get(ref), images.Image)
                ),
                None,
            )
            problem: str | None = None
            if chosen is not None:
                ref, image = chosen
                assert isinstance(image, images.Image)
                digest = hashlib.sha256(image.data).hexdigest()[:16]
                if digest not in files:
                    if total + len(image.data) > policy.max_book_bytes:
                        limit = policy.max_book_bytes / 1024 / 1024
                        problem = f"the book's image budget of {limit:g} MB is spent"
                    else:
                        total += len(image.data)
                        name = f"{IMAGE_FOLDER}/{digest}.{image.extension}"
                        files[digest] = BookImage(name, image.media_type, image.data)
                if problem is None:
                    slot.element.set("src", "../" + files[digest].file_name)
                    by_ref[ref] = files[digest].file_name
                    continue
            first = slot.sources[0]
            if problem is None:
                failure = results.get(first, "not loaded")
                problem = _reason(first, failure if isinstance(failure, str) else "")
            link = next((u for u in map(safe_url, slot.sources) if u), None)
            replace_image(slot.element, link, slot.alt)
            shown = first if len(first) <= 100 else first[:80] + "…"
            if shown not in warned:
                warned.add(shown)
                logger.warning(
                    "%s: image %s not embedded (%s); %s",
                    label,
                    shown,
                    problem,
                    "linked instead" if link else "its alt text stays",
                )
    return list(files.values())
