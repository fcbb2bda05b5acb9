"""SLA speed: the heatmap query over 200 checks with 30 days of history at 60 s intervals, and the
scheduler's own CPU overhead with trivial checks.

    python benchmarks/bench_sla.py [--seconds 30]

History is written straight into a real store (8.6 million raw rows plus their rollups) the way
``insert_result`` folds results; the scheduler run is real, on the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from controlroom.core.config import Config
from controlroom.core.settings import load_defaults
from controlroom.core.sla import SlaService, heatmap
from controlroom.core.sla.results import DAY, HOUR, bucket_of
from controlroom.core.store import Store

CHECKS = 200
DAYS = 30
INTERVAL = 60


def config_for(checks: int, interval: float, kind: str = "heartbeat") -> Config:
    data = load_defaults()
    data["sla"]["checks"] = [
        {
            "name": f"check-{i:03d}",
            "kind": kind,
            "group": f"group-{i % 8}",
            "interval": interval,
            "max_age": 3600,
        }
        if kind == "heartbeat"
        else {
            "name": f"check-{i:03d}",
            "kind": kind,
            "group": f"group-{i % 8}",
            "interval": interval,
            "max_pct": 100,
        }
        for i in range(checks)
    ]
    return Config(data)


def populate(path: Path, now: float) -> int:
    """30 days x 1440 runs x 200 checks of raw results, with hourly and daily rollups."""
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    start = now - DAYS * DAY
    rows = 0
    hourly: dict[tuple[str, int], list[float]] = {}
    daily: dict[tuple[str, int], list[float]] = {}
    conn.execute("BEGIN")
    for i in range(CHECKS):
        name = f"check-{i:03d}"
        bad_rate = rng.choice((0.0, 0.01, 0.04, 0.2))
        batch = []
        at = start + rng.uniform(0, INTERVAL)
        while at < now:
            ok = rng.random() >= bad_rate
            value = rng.uniform(1, 50) if ok else rng.uniform(3600, 7200)
            batch.append(
                (name, at, "ok" if ok else "violated", int(ok), value, 3600.0, 0.001, "", 0)
            )
            for table, size in ((hourly, HOUR), (daily, DAY)):
                agg = table.setdefault((name, bucket_of(at, size)), [0, 0, 0, 0.0, value, value])
                agg[0] += 1
                agg[1] += 0 if ok else 1
                agg[2] += 1
                agg[3] += value
                agg[4], agg[5] = min(agg[4], value), max(agg[5], value)
            at += INTERVAL
        conn.executemany(
            "INSERT INTO sla_results (check_name, at, status, ok, value, threshold, duration_s,"
            " message, in_maintenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        rows += len(batch)
    for table, data in (("sla_rollups_hourly", hourly), ("sla_rollups_daily", daily)):
        conn.executemany(
            f"INSERT INTO {table} (check_name, bucket, count, violations, maint_count, value_count,"
            " value_sum, value_min, value_max) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)",
            [(n, b, a[0], a[1], a[2], a[3], a[4], a[5]) for (n, b), a in data.items()],
        )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return rows


async def bench_heatmap(path: Path, now: float) -> None:
    store = await Store.open(path)
    config = config_for(CHECKS, INTERVAL)
    try:
        for mode, buckets in (("hourly", 24), ("daily", 7), ("daily", 30)):
            times = []
            for _ in range(15):
                started = time.perf_counter()
                result = await heatmap(store, config, now=now, mode=mode, buckets=buckets)
                times.append((time.perf_counter() - started) * 1000)
            assert len(result.rows) == CHECKS and result.rows[0].cells[-2].count > 0
            median, worst = statistics.median(times), max(times)
            print(
                f"heatmap {mode:>6} x{buckets:<2}: median {median:6.1f} ms, max {worst:6.1f} ms"
                f"  (budget 50 ms: {median / 50:.2f}x of budget)"
            )
    finally:
        await store.close()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def bench_scheduler(path: Path, seconds: float, interval: float) -> None:
    store = await Store.open(path)
    service = SlaService(store, config_for(CHECKS, interval), base_dir=path.parent)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    task = asyncio.create_task(service.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    runs = service.runs_started
    await store.close()
    per_run_ms = cpu / max(runs, 1) * 1000
    at_60s = per_run_ms / 1000 * CHECKS / 60
    print(
        f"scheduler {CHECKS} trivial checks every {interval:g}s for {wall:.0f}s: {runs} runs, "
        f"CPU {cpu:.2f}s = {100 * cpu / wall:.2f}% of one core; {per_run_ms:.2f} ms CPU per run"
        f" -> {100 * at_60s:.2f}% of one core at 60 s intervals (budget 2%)"
    )


async def migrate(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="scheduler run time")
    args = parser.parse_args()
    now = bucket_of(time.time(), HOUR) + 1800
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        asyncio.run(migrate(path))
        started = time.perf_counter()
        rows = populate(path, now)
        size = path.stat().st_size / 1e6
        print(
            f"history: {rows:,} raw results, {size:,.0f} MB, written in {time.perf_counter() - started:.0f}s"
        )
        asyncio.run(bench_heatmap(path, now))
        fresh = Path(folder) / "sched.db"
        asyncio.run(bench_scheduler(fresh, args.seconds, 60.0))
        asyncio.run(bench_scheduler(fresh, args.seconds, 5.0))


if __name__ == "__main__":
    main()
