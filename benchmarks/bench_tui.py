"""The TUI with 100,000 tasks in the store: time to first paint and approve-to-durable latency.

Run: ``python benchmarks/bench_tui.py [--tasks 100000]``. Prints the figures and their ratio to the
targets (first paint 1.5 s, approve keypress to durable decision 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controlroom.core.store import Store
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.app import create_app
from controlroom.tui.panes.queue import QueuePane
from tests.app.seed import insert_tasks

FIRST_PAINT_TARGET = 1.5
DECISION_TARGET = 0.050


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    env = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "README.md").write_text("bench\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "initial"], cwd=repo, check=True)
    return repo


async def seed(db: Path, count: int) -> float:
    started = time.perf_counter()
    store = await Store.open(db)
    try:
        for start in range(0, count, 20_000):
            await insert_tasks(store, min(20_000, count - start), start=start)
    finally:
        await store.close()
    return time.perf_counter() - started


async def durable_state(db: Path, task_id: int) -> str:
    other = await Store.open(db)  # another connection: what a crash would leave
    try:
        return await other.fetchval("SELECT state FROM tasks WHERE id = ?", (task_id,))
    finally:
        await other.close()


async def measure(workspace, rounds: int) -> dict[str, float]:
    app = create_app(workspace, background=False)
    app.animation_level = "none"
    started = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()  # the first frame with the queue's rows is composed
        first_paint = time.perf_counter() - started
        pane = app.query_one(QueuePane)
        assert pane.table.row_count > 0 and pane.total > 0
        action_times, keypress_times = [], []
        for _ in range(rounds):
            task = pane.current_task()
            t0 = time.perf_counter()
            await app.run_action("approve", pane)  # what the binding runs for "a"
            action_times.append(time.perf_counter() - t0)
            assert await durable_state(workspace.db_path, task.id) == "approved"
            await app.run_action("undo", pane)
            task = pane.current_task()  # a decision moves the cursor to the next task
            t0 = time.perf_counter()
            await pilot.press("a")  # the whole key path, including Pilot's own waits
            keypress_times.append(time.perf_counter() - t0)
            assert await durable_state(workspace.db_path, task.id) == "approved"
            await app.run_action("undo", pane)
            await pilot.pause()  # the moved cursor repainted: each round starts from an idle app
        t0 = time.perf_counter()
        await pilot.press("G")
        jump_end = time.perf_counter() - t0
        assert pane.window_offset + len(pane.tasks) == pane.total
        return {
            "first_paint": first_paint,
            "total": pane.total,
            "action_median": statistics.median(action_times),
            "action_max": max(action_times),
            "keypress_median": statistics.median(keypress_times),
            "jump_end": jump_end,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        db = Path(tmp) / "state.db"
        seeded = asyncio.run(seed(db, args.tasks))
        workspace = resolve_workspace(repo, db)
        figures = asyncio.run(measure(workspace, args.rounds))
    print(f"tasks in the store:            {figures['total']:,} (seeded in {seeded:.1f} s)")
    print(
        f"first paint:                   {figures['first_paint'] * 1000:7.0f} ms  "
        f"(target {FIRST_PAINT_TARGET * 1000:.0f} ms, ratio "
        f"{figures['first_paint'] / FIRST_PAINT_TARGET:.2f})"
    )
    print(
        f"approve -> durable (median):   {figures['action_median'] * 1000:7.1f} ms  "
        f"(max {figures['action_max'] * 1000:.1f} ms; target {DECISION_TARGET * 1000:.0f} ms, "
        f"ratio {figures['action_median'] / DECISION_TARGET:.2f})"
    )
    print(
        f"'a' through Pilot (median):    {figures['keypress_median'] * 1000:7.1f} ms  "
        "(includes Pilot's idle waits)"
    )
    print(f"G to the last of all tasks:    {figures['jump_end'] * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
