"""One parse per file for both the docs and the impact agent when both analyze a change set.

Parsing is most of what either agent spends on a large commit. When both agents are enabled and
run in one process on the same change set, the first one to ask starts a single scan that parses
each file once and runs both agents' per-file work on the tree; the other awaits the same result.
Each agent still builds its own job list from its own config table (read from ``ctx.settings``).
"""

from __future__ import annotations

import ast
import asyncio
from collections import OrderedDict
from typing import Any

from controlroom.core.model import AgentContext, ChangeSet

PAIR = ("docs", "impact")
_MAX_ENTRIES = 4
_entries: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
scans_started = 0  # how many shared scans ran in this process (tests and benchmarks read it)


def shared_scan_applies(ctx: AgentContext) -> bool:
    """True when the config enables both agents, so the other one will want the same parse."""
    enabled = (ctx.settings.get("agents") or {}).get("enabled") or []
    return all(name in enabled for name in PAIR)


def scan_pairs(items: list[tuple[Any, Any]]) -> list[tuple[dict[str, Any] | None, ...]]:
    """Worker-process side: parse each file once, run each agent's scan on the tree."""
    from controlroom.agents.docwriter import scan_file
    from controlroom.agents.impact_pool import parse
    from controlroom.agents.impact_scan import scan

    out = []
    for docs_job, impact_job in items:
        source = (docs_job or impact_job).source
        path = (docs_job or impact_job).path
        try:
            tree: ast.Module | None = parse(source, path)
        except (SyntaxError, ValueError):
            tree = None  # each scan reports the error in its own words
        out.append(
            (
                scan_file(docs_job, tree) if docs_job is not None else None,
                scan(impact_job, tree) if impact_job is not None else None,
            )
        )
    return out


async def _run(change: ChangeSet, ctx: AgentContext) -> dict[str, list[dict[str, Any]]]:
    from controlroom.agents import docwriter, impact
    from controlroom.agents.impact_pool import map_batches

    global scans_started
    scans_started += 1
    docs_jobs = {j.path: j for j in docwriter.build_jobs(change, ctx.analyze_all, _section(ctx))}
    impact_jobs = {j.path: j for j in impact.build_jobs(change, ctx.analyze_all)}
    paths = sorted(set(docs_jobs) | set(impact_jobs))
    items = [(docs_jobs.get(p), impact_jobs.get(p)) for p in paths]
    sizes = [len((d or i).source) for d, i in items]
    results = await map_batches(scan_pairs, items, sizes)
    return {
        "docs": [d for d, _ in results if d is not None],
        "impact": [i for _, i in results if i is not None],
    }


def _section(ctx: AgentContext) -> dict[str, Any]:
    docs = ctx.settings.get("docs")
    return docs if isinstance(docs, dict) else {}


async def shared_scan(
    change: ChangeSet, ctx: AgentContext, agent: str
) -> dict[str, list[dict[str, Any]]]:
    """Both agents' per-file results for ``change``, computed once for the pair."""
    loop = asyncio.get_running_loop()
    key = (id(loop), change.commit, ctx.analyze_all, repr(ctx.settings.get("docs")))
    entry = _entries.get(key)
    if entry is None or agent in entry["taken"]:
        entry = {"task": loop.create_task(_run(change, ctx)), "taken": set()}
        _entries[key] = entry
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    entry["taken"].add(agent)
    if entry["taken"] >= set(PAIR):
        _entries.pop(key, None)  # both have it: nothing else will ask
    return await asyncio.shield(entry["task"])
