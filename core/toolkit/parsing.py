"""A small shared process pool for CPU-bound parsing in the docs, impact and tests agents.

Parsing thousands of files is pure Python work that the GIL serialises; a pool of worker processes
(``forkserver``, so no thread of the parent is inherited) spreads it over the cores. Small batches
run inline in a thread: starting a pool costs more than it saves.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from controlroom.core.secrets import child_env

if TYPE_CHECKING:  # the pool's modules load with the pool: small change sets never start one
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()
INLINE_BYTES = 400_000  # below this much source text, work inline
WORKER_NICENESS = 10


_parse_lock = threading.Lock()


def parse(source: str, path: str) -> ast.Module:
    """``ast.parse`` that is safe next to other threads parsing at the same time.

    CPython 3.11 keeps one AST-conversion depth counter per interpreter, so two threads parsing
    at once can fail with ``SystemError: AST constructor recursion depth mismatch``. Our own
    parses take a lock; a parse that still collides with another agent's thread is retried.
    """
    for attempt in range(3):
        try:
            with _parse_lock:
                return ast.parse(source, filename=path)
        except SystemError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def retry_system_error(fn: Callable[[], R]) -> R:
    """Run ``fn`` (which parses Python somewhere inside), retrying the 3.11 collision above."""
    for attempt in range(3):
        try:
            return fn()
        except SystemError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def workers() -> int:
    """Worker processes to use: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_preload())
            _pool = ProcessPoolExecutor(
                max_workers=workers(), mp_context=context, initializer=_lower_priority
            )
        return _pool


def _preload() -> list[str]:
    """Modules the pool's workers import once at start: the installed agents' and this toolkit."""
    from importlib.metadata import entry_points

    from controlroom.core.plugins import AGENT_GROUP

    agents = sorted({ep.module for ep in entry_points(group=AGENT_GROUP)})
    return [*agents, "controlroom.core.toolkit.shared_scan"]


def _lower_priority() -> None:
    """Workers yield the CPU to the main process (the TUI, the agents' own event loop) and hold
    no secrets (they parse the analyzed repository's code)."""
    with contextlib.suppress(OSError):  # not permitted: stay at normal priority
        os.nice(WORKER_NICENESS)
    scrubbed = child_env()
    os.environ.clear()
    os.environ.update(scrubbed)


def warm_up() -> None:
    """Start the worker processes now (a benchmark or a long-running runtime may call this)."""
    if workers() > 1:
        pool = _get_pool()
        list(pool.map(_noop, range(workers())))


def _noop(value: int) -> int:
    return value


def chunks(items: Sequence[T], sizes: Sequence[int], parts: int) -> list[list[T]]:
    """Split ``items`` into about ``parts`` groups of similar total size (greedy, biggest first)."""
    order = sorted(range(len(items)), key=lambda i: -sizes[i])
    groups: list[list[T]] = [[] for _ in range(max(1, parts))]
    totals = [0] * len(groups)
    for i in order:
        slot = totals.index(min(totals))
        groups[slot].append(items[i])
        totals[slot] += sizes[i]
    return [g for g in groups if g]


async def map_batches(
    fn: Callable[[list[T]], list[R]], items: Sequence[T], sizes: Sequence[int]
) -> list[R]:
    """``fn`` over ``items`` in batches: in worker processes when the work is big, else a thread.

    ``fn`` takes a list and returns a list (one result per item, any order is kept per batch).
    """
    if not items:
        return []
    if not _worth_a_pool(sizes):
        return await asyncio.to_thread(fn, list(items))
    from concurrent.futures.process import BrokenProcessPool

    loop = asyncio.get_running_loop()
    try:
        pool = _get_pool()
        futures = [loop.run_in_executor(pool, fn, b) for b in chunks(items, sizes, workers() * 4)]
        results = await asyncio.gather(*futures)
    except BrokenProcessPool:
        shutdown()  # a worker died (killed, out of memory): do the work here instead
        return await asyncio.to_thread(fn, list(items))
    return [item for result in results for item in result]


def map_batches_blocking(
    fn: Callable[[list[T]], list[R]], items: Sequence[T], sizes: Sequence[int]
) -> list[R]:
    """:func:`map_batches` for code that already runs in a thread (it waits for the workers)."""
    if not items:
        return []
    if not _worth_a_pool(sizes):
        return fn(list(items))
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool = _get_pool()
        futures = [pool.submit(fn, batch) for batch in chunks(items, sizes, workers() * 4)]
        results = [future.result() for future in futures]
    except BrokenProcessPool:
        shutdown()
        return fn(list(items))
    return [item for result in results for item in result]


async def run_in_worker(fn: Callable[..., R], *args: Any, size: int) -> R:
    """``fn(*args)`` in a worker process when ``size`` (bytes of source it reads) is big, else in
    a thread: one large job kept off this process's GIL while the other agents run here."""
    if not _worth_a_pool([size]):
        return await asyncio.to_thread(fn, *args)
    from concurrent.futures.process import BrokenProcessPool

    try:
        return await asyncio.get_running_loop().run_in_executor(_get_pool(), fn, *args)
    except BrokenProcessPool:
        shutdown()
        return await asyncio.to_thread(fn, *args)


def _worth_a_pool(sizes: Sequence[int]) -> bool:
    return sum(sizes) >= INLINE_BYTES and workers() > 1


def shutdown() -> None:
    """Stop the worker processes (tests and benchmarks call this to leave nothing behind)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


Payload = dict[str, Any]
