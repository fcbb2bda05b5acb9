"""Mutation check: a passing generated test is offered only when it fails on a mutant.

Each mutant of the function under test (``testgen_mutants``) is written over the module in the
commit's temporary worktree, the test runs in the sandbox exactly as in validation, and the module
is restored, whatever happened. The first mutant the test fails on "kills" it and ends the search;
a test that passes on every mutant (at most ``tests.max_mutants``) is too weak to be offered.
A mutant the test only fails on with a ``TypeError`` does not count: it is ill-typed (``"a" - "b"``),
and a test that notices only that checks no behaviour.

Mutant runs take turns (``Turns``): every test's first mutant runs before any test's second, so a
time budget that runs out cuts the long searches of weak tests, not the first try of the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.agents.testgen.mutants import Mutant, mutants
from controlroom.agents.testgen.run import PASSED, Validation, validate
from controlroom.agents.testgen.sandbox import Limits
from controlroom.agents.testgen.static import FunctionInfo

ILL_TYPED = ("TypeError",)


@dataclass(slots=True)
class Strength:
    tried: int  # mutants run
    made: int  # mutants there were (at most tests.max_mutants)
    killed: Mutant | None = None
    run: Validation | None = None  # the test's run on the killed mutant
    complete: bool = True  # False: the time budget ran out before every mutant ran

    def as_dict(self) -> dict[str, Any]:
        killed = None
        if self.killed is not None and self.run is not None:
            killed = {
                "kind": self.killed.kind,
                "mutant": self.killed.description,
                "diff": self.killed.diff,
                "run": {
                    "status": self.run.status,
                    "message": self.run.message,
                    "failing_example": self.run.failing_example,
                    "duration_s": self.run.duration_s,
                },
            }
        return {"tried": self.tried, "made": self.made, "killed": killed}


class Turns:
    """At most ``capacity`` holders at once; waiters are served lowest ``turn`` first, then in
    the order they came."""

    def __init__(self, capacity: int = 1) -> None:
        self.free = max(1, capacity)
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self.order = itertools.count()

    @contextlib.asynccontextmanager
    async def __call__(self, turn: int) -> AsyncIterator[None]:
        if self.free > 0 and not self.waiting:
            self.free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self.waiting, (turn, next(self.order), granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # the slot arrived with the cancellation: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self.waiting:
            _turn, _order, granted = heapq.heappop(self.waiting)
            if not granted.done():
                granted.set_result(None)  # the slot passes to it directly
                return
        self.free += 1


def kills(run: Validation) -> bool:
    """The test failed on the mutant, other than by the mutant being ill-typed."""
    if run.status == PASSED:
        return False
    return not (run.message or "").startswith(ILL_TYPED)


async def check_strength(
    worktree: Path,
    box: Path,
    function: FunctionInfo,
    code: str,
    test_name: str,
    python_path: list[str],
    limits: Limits,
    max_examples: int,
    max_mutants: int,
    lock: Turns,
    deadline: float,
    gate: Turns | None = None,
) -> Strength:
    """Run ``code`` against the mutants of ``function`` until one is killed (``lock``: one mutant
    of its module at a time; ``gate``: the runs at once, shared by every test checked)."""
    gate = gate or Turns(1)
    module = worktree / function.path
    original = module.read_bytes()
    made = mutants(original.decode("utf-8", "replace"), function.qualname, max_mutants)
    strength = Strength(tried=0, made=len(made))
    for index, mutant in enumerate(made):
        if deadline - time.perf_counter() < 2.0:
            strength.complete = False
            break
        async with lock(index), gate(index):  # one mutant of a module at a time
            if deadline - time.perf_counter() < 2.0:
                strength.complete = False
                break
            try:
                if not _replace_file(module, mutant.source.encode("utf-8"), worktree):
                    break
                run = await validate(
                    worktree,
                    box / f"mutant-{index}",
                    code,
                    test_name,
                    python_path,
                    limits,
                    max_examples,
                )
            finally:
                _replace_file(module, original, worktree)
        strength.tried += 1
        if kills(run):
            strength.killed, strength.run = mutant, run
            break
    return strength


def _replace_file(path: Path, data: bytes, root: Path) -> bool:
    """Write ``data`` as a new file at ``path``, never through a link: the previous run could have
    replaced the module (or its folder) with a link to a file outside the worktree."""
    parent = os.path.realpath(path.parent)
    if not Path(parent).is_relative_to(os.path.realpath(root)):
        return False
    with contextlib.suppress(FileNotFoundError):
        os.unlink(Path(parent) / path.name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(Path(parent) / path.name, flags, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True
