"""One parse per file when several agents scan the same change set.

Parsing is most of what the docs and the impact agent spend on a large commit. An agent that scans
files one by one publishes its per-file work as a :class:`FileScan` (its class attribute
``file_scan``). When more than one of the agents analyzing the change set in this process does
(:func:`running_together`, set by the pipeline), the first to ask starts a single scan that parses
each file once and runs every agent's per-file work on the tree; the others await the same result.
An agent running alone (``--agents docs``, or one agent per worker) scans for itself only. The scan lives in the change set's ``scratch``: one per change set, gone with it. Each
agent still builds its own jobs from its own config table.
"""

from __future__ import annotations

import ast
import asyncio
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from controlroom.core.model import AgentContext, ChangeSet
from controlroom.core.toolkit.parsing import map_batches, parse

JobsFunction = Callable[[ChangeSet, bool, dict[str, Any]], list[Any]]
ScanFunction = Callable[[Any, "ast.Module | None"], dict[str, Any]]
SCRATCH_KEY = "shared_scan"
STARTED_KEY = "shared_scans_started"
PEERS_KEY = "agents_running"


@dataclass(frozen=True, slots=True)
class FileScan:
    """One agent's per-file work.

    ``jobs(change, analyze_all, settings)`` runs in the parent and returns jobs with ``path`` and
    ``source``; ``scan(job, tree)`` must be a module-level function (it is sent to worker processes
    by name) and returns a JSON-like dict; ``tree`` is None when the file does not parse.
    """

    agent: str
    jobs: JobsFunction
    scan: ScanFunction


def running_together(change: ChangeSet, agents: Iterable[Any]) -> None:
    """Record the agents about to analyze ``change`` together in this process."""
    change.scratch[PEERS_KEY] = tuple(agents)


def partners(change: ChangeSet, me: FileScan) -> list[FileScan]:
    """The agents analyzing ``change`` with ``me`` that publish a ``file_scan`` (``me`` first)."""
    found = [me]
    for agent in change.scratch.get(PEERS_KEY, ()):
        scan = getattr(agent, "file_scan", None)
        if isinstance(scan, FileScan) and scan.agent != me.agent:
            found.append(scan)
    return found


def shared_scan_applies(change: ChangeSet, me: FileScan) -> bool:
    """True when another agent analyzing ``change`` here will want the same parse."""
    return len(partners(change, me)) > 1


def scan_group(
    items: list[tuple[Any, ...]], scans: tuple[ScanFunction, ...]
) -> list[tuple[dict[str, Any] | None, ...]]:
    """Worker-process side: parse each file once, run each agent's scan on the tree."""
    out = []
    for jobs in items:
        first = next(job for job in jobs if job is not None)
        try:
            tree: ast.Module | None = parse(first.source, first.path)
        except (SyntaxError, ValueError):
            tree = None  # each scan reports the error in its own words
        out.append(
            tuple(
                scan(job, tree) if job is not None else None
                for job, scan in zip(jobs, scans, strict=True)
            )
        )
    return out


async def _run(
    change: ChangeSet, ctx: AgentContext, group: list[FileScan]
) -> dict[str, list[dict[str, Any]]]:
    change.scratch[STARTED_KEY] = change.scratch.get(STARTED_KEY, 0) + 1
    jobs = await asyncio.to_thread(  # reading sources (and the docs convention) is blocking
        lambda: [{j.path: j for j in s.jobs(change, ctx.analyze_all, ctx.settings)} for s in group]
    )
    paths = sorted(set().union(*jobs))
    items = [tuple(by_path.get(p) for by_path in jobs) for p in paths]
    sizes = [len(next(j for j in item if j is not None).source) for item in items]
    scans = tuple(s.scan for s in group)
    results = await map_batches(functools.partial(scan_group, scans=scans), items, sizes)
    return {
        s.agent: [item for row in results if (item := row[i]) is not None]
        for i, s in enumerate(group)
    }


async def shared_scan(change: ChangeSet, ctx: AgentContext, me: FileScan) -> list[dict[str, Any]]:
    """``me``'s per-file results for ``change``, computed once for every agent that shares them."""
    group = partners(change, me)
    key = (ctx.analyze_all, tuple(sorted(s.agent for s in group)), repr(ctx.settings))
    entries: dict[tuple[Any, ...], dict[str, Any]] = change.scratch.setdefault(SCRATCH_KEY, {})
    entry = entries.get(key)
    if entry is None or me.agent in entry["taken"]:  # a second run of the same agent: scan again
        ordered = sorted(group, key=lambda s: s.agent)
        task = asyncio.get_running_loop().create_task(_run(change, ctx, ordered))
        entry = {"task": task, "taken": set(), "wanted": {s.agent for s in group}}
        entries[key] = entry
    entry["taken"].add(me.agent)
    if entry["taken"] >= entry["wanted"]:
        entries.pop(key, None)  # everyone has it: nothing else will ask
    results: dict[str, list[dict[str, Any]]] = await asyncio.shield(entry["task"])
    return results[me.agent]
