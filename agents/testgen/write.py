"""Generation: ghostwrite a property-based test per function, in the sandbox, one child per module.

The repository's modules are imported only in the child (``sandbox_child.py`` -> ``testgen_ghost.py``),
with the worktree's import roots on ``sys.path``.

Where the LLM work of [llm] plugs in: when ``ctx.assistant("tests")`` returns an assistant, the agent
may ask it for a test for a function the ghostwriter could not cover (``GeneratedTest.code is None``);
its answer goes through the same validation (``testgen_batch.validate_many``) before it is offered. Until
then this path is offline only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from controlroom.agents.testgen.sandbox import Limits, run_sandboxed
from controlroom.agents.testgen.static import FunctionInfo


@dataclass(slots=True)
class GeneratedTest:
    """A ghostwritten test for one function, or the reason there is none."""

    function: FunctionInfo
    code: str | None
    prop: str | None  # roundtrip | idempotent | equivalent | returns | raises
    reason: str | None
    documented_raises: list[str]
    missing_module: str | None = None  # the import failed: no module of this name


MIN_CHILD_S = 2.0  # a child started with less time than this could not finish
OUT_OF_TIME = "not generated: the agent's time budget ran out"


def python_path(worktree: Path, functions: list[FunctionInfo]) -> list[str]:
    """The import roots of ``functions`` inside ``worktree``, then the worktree itself."""
    roots = [str(worktree / f.root) if f.root else str(worktree) for f in functions]
    return list(dict.fromkeys([*roots, str(worktree)]))


async def ghostwrite_module(
    worktree: Path,
    box: Path,
    functions: list[FunctionInfo],
    limits: Limits,
    examples: dict[str, list[list[str]]] | None = None,
    builders: dict[str, list[list[str]]] | None = None,
) -> list[GeneratedTest]:
    """One sandboxed child imports the module and writes a test for each of ``functions``
    (``builders``: the project's constructor call shapes, see ``testgen_examples``)."""
    request: dict[str, Any] = {
        "roots": python_path(worktree, functions),
        "builders": builders or {},
        "functions": [
            {
                "key": f.dotted,
                "module": f.module,
                "qualname": f.qualname,
                "examples": (examples or {}).get(f.dotted, []),
            }
            for f in functions
        ],
    }
    result = await run_sandboxed(
        box,
        mode="ghostwrite",
        writable=[worktree],
        limits=limits,
        python_path=request["roots"],
        cwd=worktree,
        request=request,
    )
    by_key = _results(result.report)  # the child's JSON, over the result pipe
    if result.timed_out or by_key is None:
        why = "timed out" if result.timed_out else f"exited with status {result.returncode}"
        if not result.timed_out and result.report and result.returncode == 0:
            why = "wrote no valid result"
        tail = result.output.strip().splitlines()[-1:] or [""]
        reason = f"the ghostwriter child {why}: {tail[0][:200]}".rstrip(": ")
        return [GeneratedTest(f, None, None, reason, []) for f in functions]
    tests = []
    for function in functions:
        item = by_key.get(function.dotted, {})
        tests.append(
            GeneratedTest(
                function,
                item.get("code"),
                item.get("property"),
                item.get("reason") or (None if item.get("code") else "no result"),
                list(item.get("documented_raises", [])),
                str(item["missing_module"]) if item.get("missing_module") else None,
            )
        )
    return tests


def _results(raw: str) -> dict[str, dict] | None:
    """``key -> item`` from the child's JSON list; None when there is none (or it is malformed:
    the repository's code ran in that process and could have written anything)."""
    try:
        items = json.loads(raw) if raw else None
        return {str(item["key"]): dict(item) for item in items} if isinstance(items, list) else None
    except (ValueError, TypeError, KeyError):
        return None


def needs_ghostwriter(function: FunctionInfo, siblings: set[str]) -> bool:
    """False when the child could only answer "no property to assert" (decided without it).

    Only a return annotation, documented exceptions, or a name that pairs with a sibling (inverse,
    reference implementation) or says idempotent give a test something real to assert.
    ``siblings``: the public names defined next to ``function`` (module or class).
    """
    if function.returns_annotated or function.documents_raises:
        return True
    from controlroom.agents.testgen import ghost as testgen_ghost  # name tables only

    name = function.name
    if testgen_ghost.IDEMPOTENT_NAME.search(name):
        return True
    for affix in testgen_ghost.REFERENCE_AFFIXES:
        if {f"{name}_{affix}", f"{affix}_{name}"} & siblings:
            return True
    for write_pattern, read_format in testgen_ghost.roundtrip_pairs():
        for candidate in siblings:
            match = re.fullmatch(write_pattern, candidate)
            if match and name in (candidate, read_format.format(*match.groups())):
                inverse = read_format.format(*match.groups())
                if inverse in siblings and inverse != candidate:
                    return True
    return False


NO_PROPERTY = (
    "no property to assert: no inverse, idempotent or reference counterpart, no return "
    "annotation isinstance can check, no documented exceptions"
)


async def ghostwrite_all(
    worktree: Path,
    workdir: Path,
    functions: list[FunctionInfo],
    limits: Limits,
    concurrency: int,
    examples: dict[str, list[list[str]]] | None = None,
    builders: dict[str, list[list[str]]] | None = None,
    deadline: float | None = None,
) -> list[GeneratedTest]:
    """Ghostwrite ``functions`` grouped by module, at most ``concurrency`` children at once.

    ``deadline`` (``time.perf_counter()``): each child gets only the time left when it starts,
    and a module whose turn comes after it gets no child ("the agent's time budget ran out")."""
    by_module: dict[str, list[FunctionInfo]] = {}
    for function in functions:
        by_module.setdefault(function.module, []).append(function)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, group: list[FunctionInfo]) -> list[GeneratedTest]:
        async with gate:
            own = limits
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left < MIN_CHILD_S:
                    return [GeneratedTest(f, None, None, OUT_OF_TIME, []) for f in group]
                own = replace(limits, timeout=min(limits.timeout, left))
            box = workdir / f"ghost-{index}"
            return await ghostwrite_module(worktree, box, group, own, examples, builders)

    groups = await asyncio.gather(*(one(i, g) for i, g in enumerate(by_module.values())))
    return [test for group in groups for test in group]
