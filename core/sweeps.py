"""Hobby sweeps into the queue: a sweep's findings converge and enqueue like any agent's."""

from __future__ import annotations

import time
from collections.abc import Callable

from controlroom.core.enqueue import EnqueueResult, converge_with_learning, enqueue, insert_findings
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
    """A hobby sweep's findings through convergence into the queue, like any agent's.

    A sweep looks at the whole repository at ``sha`` and changes no file, so nothing is
    auto-resolved; its findings are stored under ``sha`` (a minimal commit row if needed).
    """
    converged = await converge_with_learning(store, workspace.config, run.output.findings)
    empty = ChangeSet(workspace.repo_path, sha, None, "", "", 0.0, ())
    now = clock()
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO commits (sha, subject, analyzed_at) VALUES (?, ?, ?)",
            (sha, f"(hobby sweep {run.agent})", now),
        )
        await conn.execute(
            "DELETE FROM findings WHERE commit_sha = ? AND agent = ?", (sha, run.agent)
        )
        enqueued = await enqueue(
            conn, converged, empty, now=now, agents_ok=set(), analyze_all=False
        )
        await insert_findings(conn, sha, converged, enqueued.task_ids)
    return enqueued
