"""The Queue pane with 100,000 tasks over 2,000 files, grouped by file: time to first paint, and a
keypress (j) to the next row redrawn.

Run: ``python benchmarks/bench_queue_views.py [--tasks 100000] [--group file|rule|agent|none]``.
Prints the figures and their ratio to the targets (first paint 1.5 s, next row 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual import events

from benchmarks.bench_tui import make_repo
from controlroom.core.store import Store
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.app import create_app
from controlroom.tui.panes.queue import QueuePane
from tests.app.seed import insert_tasks

FIRST_PAINT_TARGET = 1.5
NEXT_ROW_TARGET = 0.050
BATCH = 2_000  # tasks per area: 40 files each, so 100,000 tasks lie in 2,000 files


async def seed(db: Path, count: int) -> float:
    started = time.perf_counter()
    store = await Store.open(db)
    try:
        for start in range(0, count, BATCH):
            area = start // BATCH
            await insert_tasks(
                store, min(BATCH, count - start), start=start,
                path_prefix=f"src/service_{area:03d}/handlers/very_long_module_name_",
            )  # fmt: skip
    finally:
        await store.close()
    return time.perf_counter() - started


class FrameClock:
    """Times a key from its event to the first frame composed after it (``App._display`` receives
    the rendered update; headless, it writes nothing more)."""

    def __init__(self, app) -> None:
        self.frame = asyncio.Event()
        display = app._display

        def timed(screen, renderable) -> None:
            if renderable is not None:
                self.written = time.perf_counter()
                self.frame.set()
            display(screen, renderable)

        app._display = timed
        self.written = 0.0

    async def key_to_frame(self, table, key: str) -> float:
        """From the key to the first frame composed once the table's cursor has moved."""
        before = table.cursor_row
        self.frame.clear()
        started = time.perf_counter()
        table.app.post_message(events.Key(key, key))  # as the driver does
        while True:
            await asyncio.wait_for(self.frame.wait(), 5)
            if table.cursor_row != before:
                return self.written - started
            self.frame.clear()  # a frame of something else (the footer, a timer): not ours yet


async def measure(workspace, rounds: int) -> dict[str, float]:
    app = create_app(workspace, background=False)
    app.animation_level = "none"
    started = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(QueuePane)
        while not pane.rows:  # the first window with its group headers
            await pilot.pause()
        await pilot.pause()  # and its frame composed
        first_paint = time.perf_counter() - started
        groups = sum(1 for r in pane.rows if not hasattr(r, "fingerprint"))
        frames = FrameClock(app)
        next_row = []
        for _ in range(rounds):
            before = pane.table.cursor_row
            next_row.append(await frames.key_to_frame(pane.table, "j"))
            assert pane.table.cursor_row != before
            await pilot.pause()  # each round starts from an idle app
        t0 = time.perf_counter()
        await pilot.press("G")
        jump_end = time.perf_counter() - t0
        t0 = time.perf_counter()
        await pilot.press("v")  # the next grouping, reloaded from the store
        regroup = time.perf_counter() - t0
        return {
            "first_paint": first_paint,
            "total": pane.total,
            "groups_in_window": groups,
            "next_row_median": statistics.median(next_row),
            "next_row_max": max(next_row),
            "jump_end": jump_end,
            "regroup": regroup,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--group", default="file", choices=["file", "rule", "agent", "none"])
    parser.add_argument(
        "--min-severity",
        default="info",
        help="the queue's fold (default info: every task listed, the heaviest case; the "
        "packaged default, medium, lists the 60%% at medium and above)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        db = Path(tmp) / "state.db"
        seeded = asyncio.run(seed(db, args.tasks))
        overrides = {"queue.group": args.group, "queue.min_severity": args.min_severity}
        workspace = resolve_workspace(repo, db, overrides=overrides)
        figures = asyncio.run(measure(workspace, args.rounds))
    print(f"tasks in the store:            {args.tasks:,} (seeded in {seeded:.1f} s); "
          f"listed {figures['total']:,} (min severity {args.min_severity})")  # fmt: skip
    print(f"grouping:                      {args.group} "
          f"({figures['groups_in_window']} headers in the first window)")  # fmt: skip
    print(
        f"first paint:                   {figures['first_paint'] * 1000:7.0f} ms  "
        f"(target {FIRST_PAINT_TARGET * 1000:.0f} ms, ratio "
        f"{figures['first_paint'] / FIRST_PAINT_TARGET:.2f})"
    )
    print(
        f"j to the next row (median):    {figures['next_row_median'] * 1000:7.1f} ms  "
        f"(max {figures['next_row_max'] * 1000:.1f} ms; target {NEXT_ROW_TARGET * 1000:.0f} ms, "
        f"ratio {figures['next_row_median'] / NEXT_ROW_TARGET:.2f}; key event to frame composed)"
    )
    print(f"G to the last of all tasks:    {figures['jump_end'] * 1000:7.0f} ms")
    print(f"v to the next grouping:        {figures['regroup'] * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
