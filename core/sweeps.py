"""Hobby sweeps into the queue: a sweep's findings are evidence, like any agent's, never a takeover.

A sweep looks at the whole tree at ``sha`` and changes no file: its run goes to ``sweep_runs``
(never to ``commits``, which holds analyzed commits only, so the runtime still analyzes that commit
with the agents), its findings are stored with ``source = 'sweep'``, and the tasks they touch are
recomputed from all their evidence: a task an agent raised keeps that agent (the one able to fix
it) at its head, and its confidence. Nothing is auto-resolved by a sweep.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from controlroom.core.enqueue import (
    EnqueueResult,
    converge_with_learning,
    enqueue,
    load_scoring,
    tasks_to_place,
)
from controlroom.core.lineage import place
from controlroom.core.model import AgentRun, ChangeSet
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace


async def enqueue_sweep(
    store: Store,
    workspace: Workspace,
    sha: str,
    run: AgentRun,
    *,
    clock: Callable[[], float] = time.time,
) -> EnqueueResult:
    """A hobby sweep's run recorded and its findings through convergence into the queue."""
    converged = await converge_with_learning(
        store, workspace.config, run.output.findings, sweep=True
    )
    scoring = await load_scoring(store, workspace.config)
    refs = await tasks_to_place(store, [item.fingerprint for item in converged], [])
    lineage = await asyncio.to_thread(place, workspace.repo_path, sha, refs)
    empty = ChangeSet(workspace.repo_path, sha, None, "", "", 0.0, ())
    now = clock()
    async with store.transaction() as conn:
        cursor = await conn.execute(
            "SELECT DISTINCT fingerprint FROM findings WHERE commit_sha = ? AND agent = ? "
            "AND source = 'sweep'",
            (sha, run.agent),
        )
        stale = {row["fingerprint"] for row in await cursor.fetchall()}
        await conn.execute(
            "DELETE FROM findings WHERE commit_sha = ? AND agent = ? AND source = 'sweep'",
            (sha, run.agent),
        )
        enqueued = await enqueue(
            conn, converged, empty, now=now, agents_ok=set(), analyze_all=False,
            lineage=lineage, scoring=scoring, source="sweep", stale=stale,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO sweep_runs (hobby, commit_sha, ran_at, status, duration_s, "
            "findings_count, tasks_created, tasks_updated, error, metrics_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.agent, sha, now, run.status.value, run.duration_s,
                len(run.output.findings), len(enqueued.created), len(enqueued.updated),
                run.error, json.dumps(run.output.metrics, default=str),
            ),
        )  # fmt: skip
    return enqueued
