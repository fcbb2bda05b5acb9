"""A baseline: every agent once over the whole tree at HEAD, offered on the first open of a
repository (the runtime otherwise sees only what new commits change).

The findings go in as a sweep's do (``source = 'sweep'``, ``core/sweeps.py``, the run recorded as
``baseline:<agent>``): evidence that never writes a ``commits`` row, never replaces the analysis of
HEAD's own change and never auto-resolves; the findings keep their agent's name.
The tasks it creates are listed in ``baseline_tasks``, so the queue shows them after the work of
new commits (``TaskView.baseline_last``). Progress is reported as each agent finishes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from controlroom.core.store import Store

if TYPE_CHECKING:
    from controlroom.core.analysis import AnalysisService


BASELINE = "baseline:"  # the sweep_runs name of an agent's baseline run


@dataclass(slots=True)
class BaselineProgress:
    run_id: int
    commit: str
    files: int  # Python files in the tree
    agents_total: int
    agents_done: int = 0
    tasks_created: int = 0
    failed: list[str] = field(default_factory=list)  # "critic: timed out"

    @property
    def finished(self) -> bool:
        return self.agents_done >= self.agents_total


async def has_baseline(store: Store) -> bool:
    return await store.fetchval("SELECT 1 FROM baseline_runs LIMIT 1") is not None


async def run_baseline(
    service: AnalysisService, *, progress: Callable[[BaselineProgress], None] | None = None
) -> BaselineProgress:
    """Analyze every file at HEAD with the service's agents; their new tasks become the baseline."""
    from controlroom.core.git import GitRepository  # the engine, loaded only when a baseline runs
    from controlroom.core.pipeline import default_context_factory, local_runner
    from controlroom.core.timeouts import scaled

    store, workspace = service.store, service.workspace
    max_bytes = int(workspace.config.get("git.max_file_bytes"))
    repo = service.repo or GitRepository(workspace.repo_path)
    try:
        head = await asyncio.to_thread(repo.resolve, "HEAD")
        change = await asyncio.to_thread(repo.tree_changeset, head, max_file_bytes=max_bytes)
        now = service.clock()
        async with store.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO baseline_runs (commit_sha, started_at, files_total) VALUES (?, ?, ?)",
                (head, now, len(change.python_files())),
            )
            run_id = int(cursor.lastrowid or 0)
        state = BaselineProgress(run_id, head, len(change.python_files()), len(service.agents))
        if progress is not None:
            progress(state)
        runner = service.runner or local_runner(scaled(workspace.config))
        factory = service.context_factory or default_context_factory(
            store, workspace, True, repo=repo
        )
        running = [
            asyncio.ensure_future(runner(agent, change, factory(agent, change)))
            for agent in service.agents
        ]
        try:
            for finished in asyncio.as_completed(running):
                run = await finished
                if run.error:
                    state.failed.append(f"{run.agent}: {run.error}")
                # Recorded under "baseline:<agent>": sweep_runs' names mark sweep-only agents for
                # auto-resolution (core/enqueue.py), and the agent itself must stay a real one.
                enqueued = await service.record_sweep(
                    head, replace(run, agent=BASELINE + run.agent)
                )
                await _mark(store, run_id, [ref.id for ref in enqueued.created])
                state.agents_done += 1
                state.tasks_created += len(enqueued.created)
                await store.execute(
                    "UPDATE baseline_runs SET files_done = ? WHERE id = ?",
                    (state.files * state.agents_done // max(1, state.agents_total), run_id),
                )
                if progress is not None:
                    progress(state)
        finally:
            for task in running:
                task.cancel()
        await store.execute(
            "UPDATE baseline_runs SET finished_at = ?, error = ? WHERE id = ?",
            (time.time(), "; ".join(state.failed) or None, run_id),
        )
        return state
    finally:
        if service.repo is None:
            repo.close()


async def _mark(store: Store, run_id: int, task_ids: list[int]) -> None:
    if not task_ids:
        return
    async with store.transaction() as conn:
        await conn.executemany(
            "INSERT OR IGNORE INTO baseline_tasks (task_id, run_id) VALUES (?, ?)",
            [(task_id, run_id) for task_id in task_ids],
        )
