"""Throughput and dispatch latency of assignments through the store, with three local workers.

Run: python benchmarks/bench_subagents.py [--units 2000] [--rate 200] [--seconds 5]
Targets (issue 7): at least 200 assignments per second; dispatch latency p99 within 100 ms.
Dispatch latency = from the unit's submission (row created) to a worker starting it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from controlroom.core.store import Store
from controlroom.core.subagents import StoreExecutor, WorkUnit
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.settings import SubagentSettings

WORKERS = ("bench-a", "bench-b", "bench-c")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def dispatch_latencies(store: Store, ids: list[int]) -> list[float]:
    marks = ",".join("?" * len(ids))
    rows = await store.fetchall(
        f"SELECT started_at - created_at FROM assignments WHERE id IN ({marks})", ids
    )
    return [max(0.0, r[0]) * 1000 for r in rows]


async def burst(executor: StoreExecutor, store: Store, units: int) -> None:
    started = time.perf_counter()
    futures = [await executor.submit(WorkUnit.probe(tag=str(i))) for i in range(units)]
    results = await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    failed = sum(1 for r in results if not r.ok)
    rate = units / elapsed
    print(
        f"burst: {units} units in {elapsed:.2f} s = {rate:.0f} assignments/s "
        f"(target 200/s, ratio {rate / 200:.2f}x), failed {failed}"
    )
    print(f"  per worker: {dict(sorted(Counter(r.where for r in results).items()))}")


async def steady(executor: StoreExecutor, store: Store, rate: float, seconds: float) -> None:
    interval, count = 1 / rate, int(rate * seconds)
    futures, submitted_at = [], []
    t0 = time.perf_counter()
    for i in range(count):
        delay = t0 + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        submitted_at.append(time.perf_counter())
        futures.append(await executor.submit(WorkUnit.probe(tag=f"s{i}")))
    results = await asyncio.gather(*futures)
    elapsed = time.perf_counter() - t0
    dispatch = await dispatch_latencies(store, [r.assignment_id for r in results])
    p50, p95, p99 = (percentile(dispatch, q) for q in (50, 95, 99))
    print(
        f"steady: {count} units offered at {rate:.0f}/s, done in {elapsed:.2f} s, "
        f"failed {sum(1 for r in results if not r.ok)}"
    )
    print(
        f"  dispatch latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  "
        f"max {max(dispatch):.1f}  mean {statistics.mean(dispatch):.1f} "
        f"(target p99 <= 100 ms, ratio {p99 / 100:.2f})"
    )


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        db = Path(tmp) / "state.db"
        store = await Store.open(db)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "controlroom.tui.commands.worker", "--repo", str(repo), "--db",
                 str(db), "--name", name, "--capabilities", "probe", "--max-concurrent", "5"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name in WORKERS
        ]  # fmt: skip
        settings = SubagentSettings(local_capabilities=())
        executor = StoreExecutor(store, settings=settings)
        try:
            registry = Registry(store)
            deadline = time.monotonic() + 30
            while len([s for s in await registry.list() if s.status == "live"]) < len(WORKERS):
                if time.monotonic() > deadline:
                    raise SystemExit("workers did not register")
                await asyncio.sleep(0.05)
            print(
                f"three workers (max 5 each, poll {settings.poll_interval * 1000:.0f} ms), "
                f"trivial probe units, store {db.name} in WAL mode"
            )
            await burst(executor, store, args.units)
            await steady(executor, store, args.rate, args.seconds)
        finally:
            await executor.close()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
            await store.close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    raise SystemExit(asyncio.run(main(parser.parse_args())))
