"""A worktree checked out while the untested functions are still being resolved.

On a release-sized commit the static resolution reads the whole test suite (seconds) and the
checkout of the commit into a worktree writes every file (seconds more, mostly in the kernel). They
need not wait for each other: the checkout starts first and the generator takes the worktree when
it needs it. A small change set checks out only when a test is to be generated, as before (its
resolution is quick, and a commit that changes no untested function needs no worktree at all).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from controlroom.core.model import ChangeSet

EARLY_FILES = 50  # changed Python files from which the checkout starts with the resolution
WorktreeFactory = Callable[[str], AbstractAsyncContextManager[Path]]


@contextlib.asynccontextmanager
async def early_worktree(
    factory: WorktreeFactory | None, change: ChangeSet, wanted: bool
) -> AsyncIterator[WorktreeFactory | None]:
    """Yield the factory the generator uses: on a big change set (and ``wanted``), one whose
    worktree is already being checked out; the worktree is removed when the block ends."""
    if factory is None or not wanted or len(change.python_files()) < EARLY_FILES:
        yield factory
        return
    manager = factory(change.commit)
    entering = asyncio.ensure_future(manager.__aenter__())

    @contextlib.asynccontextmanager
    async def prefetched(sha: str) -> AsyncIterator[Path]:
        if sha != change.commit:  # not the commit checked out early: a worktree of its own
            async with factory(sha) as other:
                yield other
            return
        yield await asyncio.shield(entering)

    try:
        yield prefetched
    finally:
        if not entering.done():
            entering.cancel()  # the checkout's own cleanup removes what it wrote
            await asyncio.gather(entering, return_exceptions=True)
        elif not entering.cancelled() and entering.exception() is None:
            await manager.__aexit__(None, None, None)


__all__ = ["EARLY_FILES", "early_worktree"]
