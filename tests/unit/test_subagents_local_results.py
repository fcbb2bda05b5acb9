"""Local runs hand their results over in memory; finished assignments are deleted after a while."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.pipeline import default_context_factory
from controlroom.core.store import Store
from controlroom.core.subagents import StoreExecutor, WorkUnit, agent_runner
from controlroom.core.subagents.assignments import AssignmentBoard
from controlroom.core.subagents.executor import PRUNE_EVERY
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.workspace import resolve_workspace


class Remembering:
    """An agent that keeps the findings it returned, to compare them with what comes back."""

    name = "critic"

    def __init__(self) -> None:
        self.returned: list[Finding] = []

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        self.returned = [
            Finding(self.name, f"R{n}", Severity.LOW, "a.py", n + 1, f"finding {n}")
            for n in range(50)
        ]
        return AgentOutput(findings=list(self.returned), metrics={"n": 50})


@pytest.fixture
async def world(tmp_path: Path, repo):
    sha = repo.commit({"a.py": "x = 1\n"}, "first")
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        yield workspace, store, sha
    finally:
        await store.close()


async def test_a_local_run_is_handed_over_in_memory_and_not_stored(world):
    workspace, store, sha = world
    executor = StoreExecutor(store, workspace=workspace)  # no workers at all
    try:
        agent = Remembering()
        change = GitRepository(workspace.repo_path).changeset(sha)
        ctx = default_context_factory(store, workspace, False)(agent, change)
        run = await agent_runner(executor, timeout=30)(agent, change, ctx)
    finally:
        await executor.close()
    assert run.where == "local" and run.output.metrics == {"n": 50}
    assert all(a is b for a, b in zip(run.output.findings, agent.returned, strict=True))
    (row,) = await AssignmentBoard(store).recent()
    assert (row.subagent, row.state.value, row.result) == ("local", "completed", None)
    assert await store.fetchval("SELECT result_json FROM assignments") is None


async def test_a_local_hobby_sweep_is_handed_over_in_memory(world):
    workspace, store, sha = world
    executor = StoreExecutor(store, workspace=workspace)
    try:
        result = await executor.run(WorkUnit.hobby("doc_sweep", sha))
    finally:
        await executor.close()
    assert result.ok, result.error
    assert result.where == "local" and result.value is not None and result.result is None
    assert await store.fetchval("SELECT result_json FROM assignments") is None


async def test_finished_assignments_are_deleted_after_the_retention(world):
    _workspace, store, _sha = world
    now = [1_000_000.0]
    settings = dataclasses.replace(
        SubagentSettings.from_config(_workspace.config), assignment_retention_hours=1.0
    )
    assert SubagentSettings.from_config(_workspace.config).assignment_retention_hours == 24.0
    executor = StoreExecutor(store, settings=settings, clock=lambda: now[0])
    board = AssignmentBoard(store)
    try:
        old = await executor.run(WorkUnit.probe(tag="old"))  # runs locally, ends at once
        now[0] += 1800  # half an hour later: kept
        recent = await executor.run(WorkUnit.probe(tag="recent"))
        assert {a.id for a in await board.recent()} == {old.assignment_id, recent.assignment_id}
        now[0] += 1800 + PRUNE_EVERY  # the first is now older than an hour
        latest = await executor.run(WorkUnit.probe(tag="latest"))
        assert {a.id for a in await board.recent()} == {recent.assignment_id, latest.assignment_id}
    finally:
        await executor.close()
