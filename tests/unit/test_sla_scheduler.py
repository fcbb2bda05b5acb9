"""The scheduler on a real store with an injected clock: intervals, jitter, overruns, one-shot runs."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import psutil

from controlroom.core.sla import SlaService, run_all_once
from controlroom.core.sla.monitor import monitored_spans
from tests.unit.sla_support import Clock, sla_config

THREE = """
[sla]
jitter = 0.1

[[sla.checks]]
name = "fast"
kind = "disk"
max_pct = 100
interval = 10

[[sla.checks]]
name = "medium"
kind = "disk"
max_pct = 100
interval = 20

[[sla.checks]]
name = "slow"
kind = "disk"
max_pct = 100
interval = "1m"
"""


async def run_until(service: SlaService, clock: Clock, until: float, *, settle: bool) -> None:
    """Drive ``service`` on the fake clock until ``until``. With ``settle`` every started check
    finishes before time moves on (no overruns); without, time races ahead of the checks."""
    reached = asyncio.Event()

    async def sleep(seconds: float) -> None:
        if settle and service.running:
            await asyncio.gather(*service.running.values(), return_exceptions=True)
        clock.advance(seconds)
        if clock.now >= until:
            reached.set()
        await asyncio.sleep(0)

    service.sleep = sleep
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(reached.wait(), 30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def counts(store) -> dict[str, int]:
    rows = await store.fetchall(
        "SELECT check_name, count(*) FROM sla_results WHERE status != 'overran' GROUP BY check_name"
    )
    return {name: n for name, n in rows}


async def test_each_check_runs_on_its_interval_with_jitter(tmp_path: Path, store) -> None:
    clock = Clock()
    start = clock.now
    config = sla_config(tmp_path, THREE)
    service = SlaService(store, config, base_dir=tmp_path, clock=clock)
    await run_until(service, clock, start + 600, settle=True)
    got = await counts(store)
    assert 59 <= got["fast"] <= 61 and 29 <= got["medium"] <= 31 and 10 <= got["slow"] <= 11
    assert service.overruns == 0
    firsts = await store.fetchall("SELECT check_name, min(at) FROM sla_results GROUP BY check_name")
    offsets = {name: at - start for name, at in firsts}
    assert 0 <= offsets["fast"] <= 1.0 + 1e-6 and 0 <= offsets["slow"] <= 5.0 + 1e-6
    assert len(set(offsets.values())) == 3  # jitter: they do not all fire at once
    (run,) = await store.fetchall("SELECT mode, started_at, stopped_at FROM sla_monitor_runs")
    assert (
        run["mode"] == "service" and run["started_at"] == start and run["stopped_at"] >= start + 600
    )


async def test_a_check_still_running_is_not_started_again(tmp_path: Path, store) -> None:
    clock = Clock()
    marker = tmp_path / "hung.pid"
    config = sla_config(
        tmp_path,
        f"""
[[sla.checks]]
name = "hung"
kind = "command"
command = "echo $$ > {marker}; exec sleep 30"
shell = true
interval = 1
timeout = 60
""",
    )
    service = SlaService(store, config, base_dir=tmp_path, clock=clock)

    async def drive() -> None:
        while await store.fetchval("SELECT count(*) FROM sla_results WHERE status = 'overran'") < 3:
            await asyncio.sleep(0)

    reached = asyncio.Event()

    async def sleep(seconds: float) -> None:
        clock.advance(max(seconds, 0.5))
        await asyncio.sleep(0.001)
        if await store.fetchval("SELECT count(*) FROM sla_results WHERE status = 'overran'") >= 3:
            reached.set()

    service.sleep = sleep
    task = asyncio.create_task(service.run())
    await asyncio.wait_for(reached.wait(), 20)
    assert service.runs_started == 1
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # the shell writes its pid in another process
    pid = int(marker.read_text())
    assert psutil.pid_exists(pid)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # Stopping the service kills the hung command's process group.
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the hung command survived the service"
        await asyncio.sleep(0.01)
    rows = await store.fetchall("SELECT status, ok FROM sla_results WHERE status = 'overran'")
    assert all(row["ok"] is None for row in rows)  # overruns are not samples
    assert await store.fetchval("SELECT count(*) FROM sla_rollups_hourly") == 0


async def test_run_all_once_is_concurrent_and_ordered(tmp_path: Path, store) -> None:
    # Each slow check writes when it started and when it ended: overlapping runs prove they ran
    # side by side, whatever the machine's load.
    script = "import sys, time; s = time.time(); time.sleep(0.6); print(s, time.time(), file=open(*sys.argv[1:]))"
    slow = f"{sys.executable} -c '{script}' {{span}} w"
    config = sla_config(
        tmp_path,
        f"""
[[sla.checks]]
name = "b"
kind = "command"
command = "{slow.format(span=tmp_path / "b.span")}"

[[sla.checks]]
name = "a"
kind = "command"
command = "{slow.format(span=tmp_path / "a.span")}"

[[sla.checks]]
name = "c"
kind = "disk"
max_pct = 100
""",
    )
    results = await run_all_once(store, config, base_dir=tmp_path)
    assert [r.check_name for r in results] == ["b", "a", "c"]
    assert all(r.ok for r in results), [r.message for r in results]
    (a_start, a_end), (b_start, b_end) = (
        map(float, (tmp_path / f"{name}.span").read_text().split()) for name in ("a", "b")
    )
    assert a_start < b_end and b_start < a_end  # two 0.6 s checks side by side
    only = await run_all_once(store, config, names=["c"], base_dir=tmp_path)
    assert [r.check_name for r in only] == ["c"]
    modes = await store.fetchall("SELECT mode, stopped_at FROM sla_monitor_runs")
    assert [m["mode"] for m in modes] == ["once", "once"] and all(m["stopped_at"] for m in modes)


async def test_monitored_spans_show_gaps(tmp_path: Path, store) -> None:
    config = sla_config(tmp_path, THREE)
    for start, end in ((1000.0, 2000.0), (1500.0, 2500.0), (4000.0, 5000.0)):
        clock = Clock(start)
        service = SlaService(store, config, base_dir=tmp_path, clock=clock)
        await service.monitor.begin_run("service")
        clock.now = end
        await service.monitor.beat(stopped=True)
    assert await monitored_spans(store, 0, 4500) == [(1000.0, 2500.0), (4000.0, 4500.0)]
