"""The runtime as the TUI builds it: executor-routed agent runs, side services, hobby sweeps."""

from controlroom.core.config import load_config
from controlroom.core.model import AgentOutput, AgentRun, Finding, RunStatus, Severity
from controlroom.core.queue import TaskQueue
from controlroom.core.services import create_runtime
from controlroom.core.sweeps import enqueue_sweep
from controlroom.core.workspace import Workspace
from tests.unit.spine_helpers import ScriptedAgent


def workspace(repo, tmp_path) -> Workspace:
    return Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")


async def test_runtime_routes_agent_runs_through_the_executor_with_local_fallback(
    repo, store, tmp_path
):
    repo.commit({"a.py": "x = eval(y)\n"}, "one")
    runtime = create_runtime(
        workspace(repo, tmp_path), store, agents=[ScriptedAgent("critic", "eval(", "S307")]
    )
    assert {s.name for s in runtime.services} == {"sla", "correlator", "hobbies"}
    try:
        [report] = await runtime.check_now()
    finally:
        for close in runtime.closers:
            await close()
        runtime.repo.close()
    assert [(run.agent, run.where, run.status.value) for run in report.runs] == [
        ("critic", "local", "ok")
    ]
    rows = await store.fetchall("SELECT state, subagent AS worker FROM assignments")
    assert [(r["state"], r["worker"]) for r in rows] == [("completed", "local")]
    assert await TaskQueue(store).count() == 1


def sweep_run(message: str) -> AgentRun:
    finding = Finding(
        agent="doc_sweep",
        rule="DOC100",
        severity=Severity.LOW,
        path="pkg/m.py",
        line=3,
        message=message,
        symbol="f",
        snippet="def f():",
    )
    return AgentRun("doc_sweep", RunStatus.OK, 0.1, AgentOutput(findings=[finding]))


async def test_hobby_sweep_findings_converge_into_the_queue_once(repo, store, tmp_path):
    sha = repo.commit({"pkg/m.py": "\n\ndef f():\n    return 1\n"}, "one")
    ws = workspace(repo, tmp_path)
    first = await enqueue_sweep(store, ws, sha, sweep_run("public function f has no docstring"))
    again = await enqueue_sweep(store, ws, sha, sweep_run("public function f has no docstring"))
    assert len(first.created) == 1 and again.created == [] and len(again.updated) == 1
    [task] = await TaskQueue(store).list()
    assert task.agents == ["doc_sweep"] and task.rule == "DOC100"
    assert await store.fetchval("SELECT count(*) FROM findings WHERE agent = 'doc_sweep'") == 1
