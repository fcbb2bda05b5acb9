import asyncio

from controlroom.core.config import load_config
from controlroom.core.queue import TaskQueue
from controlroom.core.runtime import Runtime, plan_commits
from controlroom.core.workspace import Workspace
from tests.unit.spine_helpers import ScriptedAgent

EVAL = ScriptedAgent("critic", "eval(", "S307")


def workspace(repo, tmp_path, **overrides) -> Workspace:
    config = load_config(repo.path).with_overrides({"runtime.poll_interval": 0.05, **overrides})
    return Workspace(repo.path, config, tmp_path / "state.db")


def test_plan_commits_caps_a_burst_to_the_newest_in_order():
    assert plan_commits(["a", "b", "c"], 5) == (["a", "b", "c"], 0)
    assert plan_commits(["a", "b", "c", "d"], 2) == (["c", "d"], 2)


async def test_first_look_analyzes_head_then_only_new_commits(repo, store, tmp_path):
    repo.commit({"a.py": "x = eval(y)\n"}, "one")
    runtime = Runtime(workspace(repo, tmp_path), store, agents=[EVAL])
    try:
        [first] = await runtime.check_now()
        assert first.sha == repo.head()
        assert await runtime.check_now() == []  # nothing new
        two = repo.commit({"b.py": "z = eval(w)\n"}, "two")
        three = repo.commit({"c.py": "q = 1\n"}, "three")
        reports = await runtime.check_now()
        assert [r.sha for r in reports] == [two, three]  # oldest first, each once
        assert await TaskQueue(store).count() == 2
    finally:
        runtime.repo.close()


async def test_a_new_runtime_resumes_after_the_last_analyzed_commit(repo, store, tmp_path):
    repo.commit({"a.py": "x = 1\n"}, "one")
    first = Runtime(workspace(repo, tmp_path), store, agents=[EVAL])
    await first.check_now()
    first.repo.close()
    new = repo.commit({"b.py": "y = eval(x)\n"}, "two")
    second = Runtime(workspace(repo, tmp_path), store, agents=[EVAL])
    try:
        assert [r.sha for r in await second.check_now()] == [new]
    finally:
        second.repo.close()


async def test_burst_is_capped_and_reported(repo, store, tmp_path):
    repo.commit({"a.py": "x = 1\n"}, "base")
    runtime = Runtime(
        workspace(repo, tmp_path, **{"runtime.max_commits_per_cycle": 2}), store, agents=[EVAL]
    )
    try:
        await runtime.check_now()
        shas = [repo.commit({f"f{n}.py": f"v = {n}\n"}, f"c{n}") for n in range(5)]
        reports = await runtime.check_now()
        assert [r.sha for r in reports] == shas[-2:]
        event = await store.fetchone(
            "SELECT payload_json FROM events WHERE kind = 'runtime.burst_capped'"
        )
        assert '"skipped": 3' in event["payload_json"]
    finally:
        runtime.repo.close()


async def test_run_loop_publishes_events_for_new_commits(repo, store, tmp_path):
    repo.commit({"a.py": "x = 1\n"}, "base")
    runtime = Runtime(workspace(repo, tmp_path), store, agents=[EVAL])
    seen = []

    async def collect():
        async for event in runtime.events.subscribe():
            seen.append(event)
            if (
                event.kind == "commit.analyzed"
                and len([e for e in seen if e.kind == "commit.analyzed"]) == 2
            ):
                return

    collector = asyncio.create_task(collect())
    await asyncio.sleep(0)  # let the collector subscribe before the loop starts
    loop = asyncio.create_task(runtime.run())
    try:
        first = await runtime.events.wait_for("commit.analyzed", timeout=30)
        repo.commit({"b.py": "y = eval(x)\n"}, "two")
        await asyncio.wait_for(collector, timeout=30)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    analyzed = [e.payload["sha"] for e in seen if e.kind == "commit.analyzed"]
    assert analyzed[0] == first.payload["sha"] and analyzed[1] == repo.head()
    assert any(e.kind == "tasks.changed" for e in seen)


async def test_a_failing_cycle_is_reported_and_the_loop_goes_on(repo, store, tmp_path):
    repo.commit({"a.py": "x = 1\n"}, "base")
    runtime = Runtime(workspace(repo, tmp_path), store, agents=[EVAL])
    calls = 0
    original = runtime.check_now

    async def flaky():
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("disk on fire")
        return await original()

    runtime.check_now = flaky
    errors = asyncio.create_task(runtime.events.wait_for("runtime.error", timeout=30))
    analyzed = asyncio.create_task(runtime.events.wait_for("commit.analyzed", timeout=30))
    await asyncio.sleep(0)
    loop = asyncio.create_task(runtime.run())
    try:
        error = await errors
        await analyzed
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert "disk on fire" in error.payload["error"]
