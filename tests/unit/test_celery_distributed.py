"""The Celery backend for real: Redis on 127.0.0.1 (db 7) and ``controlroom worker --backend
celery`` processes started and stopped by the fixtures.

Routing by capability queue, two workers sharing the load, a worker killed with -9 in the middle
of a unit (the unit runs again on the other worker and the store holds its findings once), a
capability nobody serves (a clear failure at once), a commit the worker must fetch, and the
workers as the store shows them to the pane and ``controlroom metrics``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path

import pytest

from controlroom.core.analysis import AnalysisService
from controlroom.core.model import RunStatus
from controlroom.core.plugins import load_agents
from controlroom.core.store import Store
from controlroom.core.subagents.assignments import AssignmentBoard
from controlroom.core.subagents.backends import build_executor
from controlroom.core.subagents.celery_executor import CeleryExecutor
from controlroom.core.subagents.celery_monitor import celery_worker_stats
from controlroom.core.subagents.executor import agent_runner
from controlroom.core.subagents.units import WorkUnit
from controlroom.core.workspace import resolve_workspace
from tests.unit import celery_support as cs

pytestmark = [
    pytest.mark.skipif(cs.redis_problem() is not None, reason=cs.redis_problem() or ""),
    pytest.mark.timeout(180),
]

RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
async def cluster(tmp_path: Path, repo, monkeypatch):
    """A repository, the coordinator's store and Celery executor, and a worker launcher."""
    cs.flush()
    repo.commit({"README.md": "x\n"}, "initial")
    sha = repo.commit({"app.py": RISKY, "b.py": "y = 2\n"}, "add two files")
    config = tmp_path / "operator.toml"
    config.write_text(cs.config_text(), encoding="utf-8")
    plugins = cs.install_slow_agent(tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(plugins))
    workspace = resolve_workspace(repo.path, tmp_path / "state.db", config)
    store = await Store.open(workspace.db_path)
    executor = build_executor(store, workspace)
    assert isinstance(executor, CeleryExecutor)
    workers = cs.CeleryWorkers(repo.path, config, tmp_path, plugins)
    try:
        yield workspace, store, executor, workers, sha
    finally:
        await executor.close()
        workers.stop_all()
        await store.close()
        cs.flush()


async def until(predicate, timeout: float = 30.0, step: float = 0.05):
    """Wait on the thing itself: ``predicate`` (async) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(step)
    raise AssertionError("condition not met in time")


async def test_units_go_to_the_queue_of_their_capability(cluster):
    workspace, store, executor, workers, sha = cluster
    critic_box = workers.start("critic-box", "critic")
    docs_box = workers.start("docs-box", "docs")
    critic = await executor.run(WorkUnit.probe(capability="critic", tag="c"))
    docs = await executor.run(WorkUnit.probe(capability="docs", tag="d"))
    assert (critic.ok, critic.where) == (True, critic_box), critic
    assert (docs.ok, docs.where) == (True, docs_box)
    # A real agent run: the critic itself, on the worker's own clone, returns JSON findings
    # that the coordinator converges and stores.
    service = AnalysisService(
        store, workspace, agents=load_agents(["critic"]),
        runner=agent_runner(executor, timeout=60),
    )  # fmt: skip
    report = await service.analyze(sha)
    (run,) = report.runs
    assert run.status is RunStatus.OK and run.where == critic_box, run.error
    assert any(f.path == "app.py" for f in run.output.findings)
    stored = await store.fetchval(
        "SELECT count(*) FROM findings WHERE commit_sha = ? AND agent = 'critic'", (sha,)
    )
    assert stored == len(run.output.findings) > 0
    rows = await AssignmentBoard(store).recent(limit=10)
    assert {(r.target.split("@")[0], r.subagent) for r in rows if r.kind == "agent"} == {
        ("critic", critic_box)
    }


async def test_two_workers_share_the_load(cluster):
    _workspace, _store, executor, workers, _sha = cluster
    first = workers.start("share-a", "critic", concurrency=2)
    second = workers.start("share-b", "critic", concurrency=2)
    units = [WorkUnit.probe(capability="critic", hold=0.4, tag=str(i)) for i in range(12)]
    results = await asyncio.gather(*(executor.run(u) for u in units))
    assert all(r.ok for r in results)
    ran = [r.where for r in results]
    assert set(ran) == {first, second}
    assert min(ran.count(first), ran.count(second)) >= 3, ran

    async def results_left() -> bool:  # the coordinator deletes each result it took
        import redis

        return not redis.Redis.from_url(cs.REDIS_URL).keys("celery-task-meta-*")

    await until(results_left, timeout=10)


async def test_a_worker_killed_mid_unit_its_unit_runs_elsewhere_and_is_written_once(cluster):
    workspace, store, executor, workers, sha = cluster
    a = workers.start("doomed", "slow", concurrency=1, hold=3.0)
    b = workers.start("survivor", "slow", concurrency=1, hold=3.0)
    (slow,) = load_agents(["slow"])
    service = AnalysisService(
        store, workspace, agents=[slow], runner=agent_runner(executor, timeout=60)
    )
    analysis = asyncio.create_task(service.analyze(sha))
    board = AssignmentBoard(store)

    async def running_on() -> str | None:
        rows = await board.recent(limit=1, states=["running"])
        return rows[0].subagent if rows else None

    first = await until(running_on)
    assert first in (a, b)
    workers.kill9("doomed" if first == a else "survivor")
    report = await asyncio.wait_for(analysis, 90)
    (run,) = report.runs
    other = b if first == a else a
    assert run.status is RunStatus.OK and run.where == other, run.error
    (row,) = await board.recent(limit=5)
    assert (row.state.value, row.subagent, row.attempts) == ("completed", other, 2)
    assert (
        await store.fetchval(
            "SELECT count(*) FROM agent_runs WHERE commit_sha = ? AND agent = 'slow'", (sha,)
        )
        == 1
    )
    paths = [
        r["path"]
        for r in await store.fetchall(
            "SELECT path FROM findings WHERE commit_sha = ? AND agent = 'slow' ORDER BY path",
            (sha,),
        )
    ]
    assert paths == ["app.py", "b.py"]  # each finding once
    assert (
        await store.fetchval(
            "SELECT state FROM analysis_claims WHERE commit_sha = ? AND agent = 'slow'", (sha,)
        )
        == "done"
    )


async def test_a_capability_nobody_serves_fails_at_once_with_the_reason(cluster):
    _workspace, _store, executor, workers, _sha = cluster
    workers.start("only-critic", "critic")
    started = time.monotonic()
    result = await executor.run(WorkUnit.probe(capability="docs"))
    assert not result.ok
    assert "no live Celery worker consumes the queue 'controlroom.docs'" in (result.error or "")
    assert "locally is not allowed" in (result.error or "")
    assert time.monotonic() - started < 5


async def test_a_worker_fetches_a_commit_made_after_it_cloned(cluster, repo):
    workspace, store, executor, workers, _sha = cluster
    box = workers.start("fetcher", "slow", concurrency=1)
    newer = repo.commit({"c.py": "z = 3\n"}, "a commit the worker's clone lacks")
    (slow,) = load_agents(["slow"])
    service = AnalysisService(
        store, workspace, agents=[slow], runner=agent_runner(executor, timeout=60)
    )
    (run,) = (await service.analyze(newer)).runs
    assert run.status is RunStatus.OK and run.where == box, run.error
    assert [f.path for f in run.output.findings] == ["c.py"]
    clone = workspace.repo_path.parent / "cache" / box / "repo"
    assert (clone / ".git").is_dir()


async def test_the_store_shows_the_celery_workers_for_the_pane_and_metrics(cluster):
    _workspace, store, executor, workers, _sha = cluster
    box = workers.start("seen", "critic", concurrency=3)
    assert (await executor.run(WorkUnit.probe(capability="critic"))).ok
    await executor.consumers(fresh=True, with_active=True)
    (worker,) = await celery_worker_stats(store)
    assert worker.name == box and worker.status == "live"
    assert worker.queues == ("controlroom.critic", "controlroom.probe")
    assert (worker.done, worker.failed, worker.concurrency) == (1, 0, 3)
    assert worker.processed >= 1 and worker.last_seen > time.time() - 30
    from controlroom.core.metrics_export import metrics_snapshot

    snap = await metrics_snapshot(store)
    (shown,) = snap["celery_workers"]
    assert (shown["name"], shown["status"], shown["done"]) == (box, "live", 1)
    workers.kill9("seen")
    await executor.consumers(fresh=True)
    (gone,) = await celery_worker_stats(store)
    assert gone.status == "gone"


def test_a_real_worker_process_refuses_pickle(cluster):
    """The workers accept JSON only: a pickled message is rejected, never run."""
    _workspace, _store, _executor, workers, _sha = cluster
    assert sys.platform.startswith("linux")
    workers.start("strict", "critic")
    app = workers.app
    app.conf.task_serializer = "pickle"
    app.conf.accept_content = ["pickle", "json"]
    result = app.send_task(
        "controlroom.unit", args=[{"kind": "probe", "capability": "critic"}],
        queue="controlroom.critic", serializer="pickle",
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "ContentDisallowed" not in workers.log("strict"):
        time.sleep(0.05)
    assert "ContentDisallowed" in workers.log("strict") or "disallowed" in workers.log("strict")
    assert result.state == "PENDING"


async def test_a_unit_whose_only_worker_dies_runs_locally_when_allowed(cluster, tmp_path: Path):
    """The queue loses its last consumer while the unit runs: the coordinator notices at its
    next liveness check and runs the unit itself (its capability is a local one); one write."""
    workspace, store, executor, workers, sha = cluster
    executor.settings = dataclasses.replace(executor.settings, local_capabilities=("slow",))
    workers.start("lonely", "slow", concurrency=1, hold=30.0)
    (slow,) = load_agents(["slow"])
    service = AnalysisService(
        store, workspace, agents=[slow], runner=agent_runner(executor, timeout=60)
    )
    analysis = asyncio.create_task(service.analyze(sha))
    board = AssignmentBoard(store)

    async def running() -> bool:
        return bool(await board.recent(limit=1, states=["running"]))

    await until(running)
    workers.kill9("lonely")
    started = time.monotonic()
    (run,) = (await asyncio.wait_for(analysis, 60)).runs
    assert run.status is RunStatus.OK and run.where == "local", run.error
    assert time.monotonic() - started < 20  # no wait for a worker that will not come back
    assert any("no live Celery worker consumes" in p for p in executor.problems)
    assert (
        await store.fetchval(
            "SELECT count(*) FROM findings WHERE commit_sha = ? AND agent = 'slow'", (sha,)
        )
        == 2
    )


async def test_a_unit_over_its_time_limit_fails_and_is_not_handed_out_again(cluster):
    _workspace, store, _executor, workers, _sha = cluster
    box = workers.start("strict-clock", "critic", concurrency=1)
    short = dataclasses.replace(cs.settings(), unit_time_limit=1.0)
    executor = CeleryExecutor(store, celery=short)
    try:
        result = await executor.run(WorkUnit.probe(capability="critic", hold=20.0))
        assert not result.ok and result.where == box
        assert "TimeLimitExceeded" in (result.error or ""), result
        # The worker is free again and the unit is not re-run: the next one is answered.
        after = await executor.run(WorkUnit.probe(capability="critic", tag="next"))
        assert after.ok and after.result["tag"] == "next"
        received = workers.log("strict-clock").count(f"[{result.extra['task_id']}] received")
        assert received == 1
    finally:
        await executor.close()
