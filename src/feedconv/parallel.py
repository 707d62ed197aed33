"""Order-preserving parallel map over a stream, in a pool of processes.

Conversion of one post is pure and CPU-bound (HTML → Markdown), so it scales across
cores in processes. Items are sent in chunks, at most a few chunks ahead of the consumer,
so a streamed input stays streamed: memory holds a bounded window of items, never the
whole feed. Results come back in input order, so the output is byte-identical to a
single-process run, and what a worker logs is logged by this process, in item order.
Small inputs never start a pool. A map started while another runs (posts converted
while the pool still reads them) shares that map's pool.
"""

from __future__ import annotations

import functools
import gc
import logging
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
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


# What a task returns for each item: the result and the log records its work made.
_Done = tuple[Any, list[logging.LogRecord]]


def _run_chunk(chunk: list[Any]) -> list[_Done]:
    assert _FUNC is not None
    return _run_with(_FUNC, chunk)


def _run_with(func: Callable[[Any], Any], chunk: list[Any]) -> list[_Done]:
    """``func`` over a chunk, in a worker. What each item's work logs is kept with its
    result, for the main process to log in item order, as one process would."""
    logger = logging.getLogger("feedconv")
    done: list[_Done] = []
    for item in chunk:
        collector = _Collector()
        handlers, propagate = logger.handlers, logger.propagate
        logger.handlers, logger.propagate = [collector], False
        try:
            result = func(item)
        finally:
            logger.handlers, logger.propagate = handlers, propagate
        done.append((result, collector.records))
    return done


class _Collector(logging.Handler):
    """Keeps records, reduced to what can cross to another process."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None
        record.exc_info = record.exc_text = None
        self.records.append(record)


class _Pool:
    """A process pool and the number of ordered maps using it."""

    def __init__(self, jobs: int, func: Callable[[Any], Any]) -> None:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        # Objects alive now (modules, the feed header…) stay out of every later
        # collection, so forked workers neither scan them nor copy their pages.
        gc.freeze()
        self.executor = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context(method),
            initializer=_install,
            initargs=(func,),
        )
        self.func = func
        self.users = 0


# The pool in use in this process. A map that starts while another one runs (the posts
# of a feed that a pool is still reading, converted in a pool) shares it: starting a
# second pool would fork a process whose other threads feed the first one.
_SHARED: _Pool | None = None


@contextmanager
def _lease(
    jobs: int, func: Callable[[Any], Any]
) -> Iterator[tuple[ProcessPoolExecutor, Callable[[list[Any]], list[_Done]]]]:
    """The pool to use and the task that maps ``func`` over a chunk in it."""
    global _SHARED
    pool = _SHARED
    if pool is None:
        pool = _SHARED = _Pool(jobs, func)
    pool.users += 1
    try:
        # The function the workers were started with is installed; another one goes
        # with every chunk.
        task = _run_chunk if pool.func is func else functools.partial(_run_with, func)
        yield pool.executor, task
    finally:
        pool.users -= 1
        if pool.users == 0:
            _SHARED = None
            pool.executor.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()


def ordered_map(
    func: Callable[[T], R], items: Iterable[T], *, jobs: int, chunk: int = CHUNK
) -> Iterator[R]:
    """``map(func, items)`` in ``jobs`` processes, lazily and in order.

    ``func`` and the items must be picklable (a module-level function, or a
    ``functools.partial`` of one). A map started while another runs shares its pool.
    """
    iterator = iter(items)
    head = list(islice(iterator, MIN_ITEMS))
    if jobs <= 1 or len(head) < MIN_ITEMS:
        yield from map(func, chain(head, iterator))
        return
    source = chain(head, iterator)
    window: deque[Future[list[_Done]]] = deque()
    with _lease(jobs, func) as (pool, task):
        try:
            while True:
                while len(window) < jobs * 3:
                    batch = list(islice(source, chunk))
                    if not batch:
                        break
                    window.append(pool.submit(task, batch))
                if not window:
                    return
                for result, records in window.popleft().result():
                    for record in records:
                        logging.getLogger(record.name).handle(record)
                    yield result
        finally:
            for future in window:
                future.cancel()
