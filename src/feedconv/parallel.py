"""Order-preserving parallel map over a stream, in a pool of processes.

Conversion of one post is pure and CPU-bound (HTML → Markdown), so it scales across
cores in processes. Items are sent in chunks, at most a few chunks ahead of the consumer,
so a streamed input stays streamed: memory holds a bounded window of items, never the
whole feed. Results come back in input order, so the output is byte-identical to a
single-process run. Small inputs never start a pool.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Maps a function over items, lazily and in order: builtin ``map``, or
#: :func:`ordered_map` bound to a number of jobs. Writers take one to convert posts.
Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]

CHUNK = 8
MIN_ITEMS = 24  # fewer items than this: no pool, its start-up would cost more


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# The function a worker maps, installed once per worker process: a function bound to
# large data (a book's map of links between posts) is not sent again with every chunk.
_FUNC: Callable[[Any], Any] | None = None


def _install(func: Callable[[Any], Any]) -> None:
    global _FUNC
    _FUNC = func


def _run_chunk(chunk: list[Any]) -> list[Any]:
    assert _FUNC is not None
    return [_FUNC(item) for item in chunk]


def ordered_map(
    func: Callable[[T], R], items: Iterable[T], *, jobs: int, chunk: int = CHUNK
) -> Iterator[R]:
    """``map(func, items)`` in ``jobs`` processes, lazily and in order.

    ``func`` and the items must be picklable (a module-level function, or a
    ``functools.partial`` of one).
    """
    iterator = iter(items)
    head = list(islice(iterator, MIN_ITEMS))
    if jobs <= 1 or len(head) < MIN_ITEMS:
        yield from map(func, chain(head, iterator))
        return
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    # Objects alive now (modules, the feed header…) stay out of every later collection,
    # so forked workers neither scan them nor copy their pages by touching them.
    gc.freeze()
    source = chain(head, iterator)
    window: deque[Future[list[R]]] = deque()
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_install, initargs=(func,)
    ) as pool:
        try:
            while True:
                while len(window) < jobs * 3:
                    batch = list(islice(source, chunk))
                    if not batch:
                        break
                    window.append(pool.submit(_run_chunk, batch))
                if not window:
                    return
                yield from window.popleft().result()
        finally:
            for future in window:
                future.cancel()
            gc.unfreeze()
