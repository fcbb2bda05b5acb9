"""Agent runs through the executor boundary: a real worker process runs the real critic, the
pipeline takes the runner; and a stopping worker hands its unfinished work back."""

from __future__ import annotations

import dataclasses
import signal
from pathlib import Path

import pytest

from controlroom.core.model import RunStatus
from controlroom.core.pipeline import analyze_commit
from controlroom.core.plugins import load_agents
from controlroom.core.store import Store
from controlroom.core.subagents import StoreExecutor, WorkUnit, agent_runner
from controlroom.core.subagents.assignments import AssignmentBoard
from controlroom.core.subagents.registry import Registry
from controlroom.core.workspace import resolve_workspace
from tests.unit.subagent_helpers import FAST, Workers, until, wait_live

RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
async def world(tmp_path: Path, repo):
    repo.commit({"README.md": "x\n"}, "initial")
    sha = repo.commit({"app.py": RISKY}, "add a risky call")
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Workers(repo.path, workspace.db_path, logs)
    settings = dataclasses.replace(FAST, local_capabilities=("critic",))
    executor = StoreExecutor(store, workspace=workspace, settings=settings)
    try:
        yield workspace, store, workers, executor, sha
    finally:
        await executor.close()
        workers.stop_all()
        await store.close()


async def test_the_pipeline_runs_the_critic_on_a_worker_process(world):
    workspace, store, workers, executor, sha = world
    workers.start("critic-box", "critic")
    await wait_live(store, {"critic-box"})
    runner = agent_runner(executor, timeout=60)
    report = await analyze_commit(store, workspace, sha, load_agents(["critic"]), runner=runner)
    (run,) = report.runs
    assert run.status is RunStatus.OK and run.where == "critic-box"
    assert any(f.path == "app.py" for f in run.output.findings)
    row = (await AssignmentBoard(store).recent(limit=1))[0]
    assert (row.kind, row.subagent, row.state.value) == ("agent", "critic-box", "completed")
    assert row.payload == {"kind": "agent", "agent": "critic", "commit": sha, "analyze_all": False}


async def test_without_a_worker_the_same_runner_runs_locally(world):
    workspace, store, _workers, executor, sha = world
    runner = agent_runner(executor, timeout=60)
    report = await analyze_commit(store, workspace, sha, load_agents(["critic"]), runner=runner)
    (run,) = report.runs
    assert run.status is RunStatus.OK and run.where == "local"
    assert any(f.path == "app.py" for f in run.output.findings)


async def test_sigterm_twice_hands_running_work_back_and_unregisters(world):
    _workspace, store, workers, executor, _sha = world
    workers.start("leaver", "x")
    await wait_live(store, {"leaver"})
    submitted = await executor.submit(WorkUnit.probe(capability="x", hold=60, tag="long"))
    board = AssignmentBoard(store)

    async def running():
        rows = await board.recent(limit=1)
        return rows and rows[0].state.value == "running"

    await until(running, what="the unit to run")
    proc = workers.procs["leaver"]
    proc.send_signal(signal.SIGTERM)  # finish or hand back ...
    await until(lambda: _draining_started(workers), what="the worker to stop taking work")
    proc.send_signal(signal.SIGTERM)  # ... a second signal: hand back now
    assert proc.wait(timeout=10) == 0
    row = (await board.recent(limit=1))[0]
    assert (row.state.value, row.subagent, row.lease) == ("pending", None, 2)
    assert "handed back" in row.error
    assert await Registry(store).get("leaver") is None
    assert not submitted.done()  # still waiting for a worker to take it again


async def _draining_started(workers: Workers) -> bool:
    return "leaver: stopping" in workers.log("leaver")
