"""The images of a book: each source loaded once, made fit for readers, named by content.

Chapters leave :class:`~._xhtml.ImageSlot` placeholders; :class:`ImageEmbedder` loads
the slots' sources a batch of posts at a time (concurrently, through
:mod:`feedconv.images`), tries a slot's next source when one fails, and fills the slots
in reading order: a ``src`` pointing into the book, or, when no source works or the
book's image budget is spent, ``[image: alt]`` as a link to the image on the web and one
warning naming the post and the URL. The book never references a remote resource.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
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


@dataclass(frozen=True)
class _Kept:
    """An image loaded in an earlier batch, without its bytes: they are in the book
    already (``digest`` names its file), or they did not fit the book's budget."""

    digest: str
    size: int


class ImageEmbedder:
    """Fills the image slots of a book's posts, batch after batch, in reading order.

    Each batch loads its slots' sources concurrently; what a source gave is
    remembered across batches (a failure, or the file it became), so no source is
    loaded twice, files stay named by their content and shared, and the book's budget
    counts every file once. The bytes of an image go to ``add`` as soon as it is
    placed: only the batch being filled holds image data.
    """

    def __init__(self, policy: ImagePolicy, add: Callable[[BookImage], None]) -> None:
        self.policy = policy
        self.add = add
        cache = images.ImageCache(policy.cache_dir) if policy.cache_dir is not None else None
        prepare = partial(images.prepare_for_book, max_size=policy.max_size, svg=policy.svg)
        self.fetch = partial(
            images.fetch_all,
            timeout=policy.timeout,
            max_bytes=policy.max_bytes,
            workers=policy.workers,
            base_dir=policy.base_dir,
            cache=cache,
            prepare=prepare,
        )
        self.results: dict[str, images.Image | _Kept | str] = {}  # source → outcome
        self.files: dict[str, str] = {}  # content hash → file name
        self.total = 0

    def embed(self, posts: Sequence[tuple[str, Sequence[ImageSlot]]]) -> None:
        """Fill the slots of each (post label, slots)."""
        slots = [slot for _, post_slots in posts for slot in post_slots]
        results = self.results
        loaded: list[str] = []
        for round_number in range(_ROUNDS):
            wanted = []
            for slot in slots:
                tried = slot.sources[: round_number + 1]
                if len(tried) > round_number and not any(
                    isinstance(results.get(ref), images.Image | _Kept) for ref in tried[:-1]
                ):
                    wanted.append(tried[-1])
            wanted = [ref for ref in dict.fromkeys(wanted) if ref not in results]
            if not wanted:
                break
            results.update(self.fetch(wanted))
            loaded += wanted
        for label, post_slots in posts:
            self._fill(label, post_slots)
        for ref in loaded:  # the bytes are in the book now, or never will be
            image = results[ref]
            if isinstance(image, images.Image):
                results[ref] = _Kept(_digest(image.data), len(image.data))

    def _fill(self, label: str, post_slots: Sequence[ImageSlot]) -> None:
        policy, results, files = self.policy, self.results, self.files
        warned: set[str] = set()
        for slot in post_slots:
            chosen = next(
                (
                    (ref, results[ref])
                    for ref in slot.sources
                    if isinstance(results.get(ref), images.Image | _Kept)
                ),
                None,
            )
            problem: str | None = None
            if chosen is not None:
                _ref, image = chosen
                assert isinstance(image, images.Image | _Kept)
                if isinstance(image, images.Image):
                    digest, size = _digest(image.data), len(image.data)
                else:
                    digest, size = image.digest, image.size
                if digest not in files:
                    if self.total + size > policy.max_book_bytes:
                        limit = policy.max_book_bytes / 1024 / 1024
                        problem = f"the book's image budget of {limit:g} MB is spent"
                    else:
                        # Kept images not in the book did not fit an earlier, smaller
                        # total, so they never fit now.
                        assert isinstance(image, images.Image)
                        self.total += size
                        name = f"{IMAGE_FOLDER}/{digest}.{image.extension}"
                        files[digest] = name
                        self.add(BookImage(name, image.media_type, image.data))
                if problem is None:
                    slot.element.set("src", "../" + files[digest])
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


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
