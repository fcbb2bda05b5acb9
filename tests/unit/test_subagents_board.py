"""The assignments table and the registry in one process, with an injected clock."""

from __future__ import annotations

from controlroom.core.store import Store
from controlroom.core.subagents.assignments import AssignmentBoard, Finished
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.units import WorkUnit


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_routing_lease_and_a_refused_late_result(store: Store):
    clock = Clock()
    registry = Registry(store, clock=clock)
    board = AssignmentBoard(store, clock=clock)
    life = await registry.register("a", ["x"], max_concurrent=1, heartbeat_interval=5, pid=1)
    await registry.register("b", ["x"], max_concurrent=1, heartbeat_interval=5, pid=2)
    first, decision = await board.submit(WorkUnit.probe(capability="x"), local_allowed=False)
    assert decision == "routed"
    second, _ = await board.submit(WorkUnit.probe(capability="x"), local_allowed=False)
    third, _ = await board.submit(WorkUnit.probe(capability="x"), local_allowed=False)
    _, taken_a = await board.exchange("a", ["x"])
    _, taken_b = await board.exchange("b", ["x"])
    assert [t.id for t in taken_a] == [first.id] and [t.id for t in taken_b] == [second.id]
    assert (await board.get(third.id)).state.value == "pending"  # both full: it waits
    clock.now += 16  # a and b silent for more than 3 x 5 s; b beats, a does not
    assert await registry.heartbeat("b", 1) == "live"
    assert await registry.reap() == ["a"]
    assert await registry.heartbeat("a", life) is None  # a learns it was declared dead
    row = await board.get(first.id)
    assert (row.state.value, row.lease) == ("pending", 2)
    applied, _ = await board.exchange(
        "a", ["x"], finished=[Finished(first.id, taken_a[0].lease, True, {"late": True})],
        take=False,
    )  # fmt: skip
    assert applied == [False]
    assert (await board.get(first.id)).result is None


async def test_draining_takes_no_new_work_and_impossible_work_fails(store: Store):
    clock = Clock()
    registry = Registry(store, clock=clock)
    board = AssignmentBoard(store, clock=clock)
    await registry.register("a", ["x"], max_concurrent=2, heartbeat_interval=5, pid=1)
    assert await registry.drain("a")
    row, decision = await board.submit(WorkUnit.probe(capability="x"), local_allowed=True)
    assert decision == "local" and row.subagent == "local"
    row, decision = await board.submit(WorkUnit.probe(capability="x"), local_allowed=False)
    assert decision == "impossible" and row.state.value == "failed"
    assert "'x'" in row.error


async def test_a_killed_workers_name_is_free_at_once(store: Store):
    import subprocess

    import pytest

    clock = Clock()
    registry = Registry(store, clock=clock)
    alive = subprocess.Popen(["sleep", "60"])
    try:
        await registry.register("w", ["x"], max_concurrent=1, heartbeat_interval=5, pid=alive.pid)
        with pytest.raises(ValueError, match="already named"):  # its process still runs
            await registry.register("w", ["x"], max_concurrent=1, heartbeat_interval=5, pid=1)
    finally:
        alive.kill()
        alive.wait()
    # Killed (-9) and reaped: its heartbeats have not lapsed, yet the name is free.
    life = await registry.register("w", ["x"], max_concurrent=1, heartbeat_interval=5, pid=1)
    assert life == 2
    assert (await registry.get("w")).pid == 1
