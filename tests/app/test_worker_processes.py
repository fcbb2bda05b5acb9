"""Worker processes started from the Sub-agents pane are waited for: a drained one is gone, not a
zombie, while the app still runs."""

from __future__ import annotations

import asyncio
import time

import psutil

from controlroom.core.store import Store
from controlroom.core.subagents.registry import Registry
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.panes.subagents import SubagentsPane

SIZE = (100, 30)
FAST_WORKERS = "[subagents]\nheartbeat_interval = 0.2\npoll_interval = 0.01\n"


async def wait_for(condition, *, timeout: float = 30.0, what: str) -> None:
    """Poll ``condition`` (sync) with a deadline: the work happens in another process."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def gone(pid: int) -> bool:
    """True once no process ``pid`` exists (an exited child nobody waited for is a zombie)."""
    try:
        psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    return False


async def test_a_drained_worker_is_reaped_while_the_app_runs(repo, tmp_path, make_app):
    repo.commit({"a.py": "x = 1\n", "controlroom.toml": FAST_WORKERS}, "first")
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    await (await Store.open(workspace.db_path)).close()  # created and migrated
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        generation = app.refresh_generation
        await pilot.press("5")
        while "subagents" not in app._loaded:
            generation = await app.wait_for_refresh(generation, timeout=10)
        pane = app.query_one(SubagentsPane)
        await pilot.press("w")
        registry = Registry(app.store)

        async def live() -> bool:
            return any(w.status == "live" for w in await registry.list())

        await wait_for(live, what="the worker to register")
        (worker,) = await registry.list()
        child = psutil.Process(worker.pid)
        assert child.ppid() == psutil.Process().pid  # this app started it
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert [w.name for w in pane.subagents] == [worker.name]
        pane.query_one("#sa-workers").focus()
        await pilot.press("d")

        async def reaped() -> bool:
            return gone(worker.pid)

        await wait_for(reaped, what=f"{worker.name} (pid {worker.pid}) to exit and be reaped")
        assert app.is_running
        assert all(c.status() != psutil.STATUS_ZOMBIE for c in psutil.Process().children())
