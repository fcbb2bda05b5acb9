"""Costs pane queries over 1,000,000 ledger rows, and the cost of recording one call.

    python benchmarks/bench_costs.py [--rows 1000000]

Targets: the pane's queries (costs_report + budget_status + llm_status) within 100 ms; recording a
call (ledger row + rollup trigger + budget alert check, or reserve + settle) under 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from controlroom.core.config import load_config
from controlroom.core.llm.budget import Budget, budget_status
from controlroom.core.llm.costs import costs_report
from controlroom.core.llm.ledger import _INSERT, CallRecord, record_call
from controlroom.core.llm.pricing import Usage, load_prices
from controlroom.core.llm.status import llm_status
from controlroom.core.store import Store

MODELS = [
    ("claude-haiku-5-5", "haiku"),
    ("claude-sonnet-5-5", "sonnet"),
    ("claude-opus-5-5", "opus"),
]
AGENTS = ["critic", "tests", "docs", "impact"]


def synthetic_rows(count: int, now: float, days: int = 90):
    prices = load_prices()
    rng = random.Random(7)
    for _ in range(count):
        model, tier = rng.choices(MODELS, weights=(70, 25, 5))[0]
        if rng.random() < 0.001:
            model, tier = "claude-unpriced-x", ""
        usage = Usage(rng.randint(200, 8000), rng.randint(20, 1500), rng.randint(0, 2000), 0)
        record = CallRecord(
            at=now - rng.random() * days * 86400, agent=rng.choice(AGENTS), model=model,
            status="ok", usage=usage, cost_usd=prices.cost(model, usage), tier=tier,
            rule="keyword", task="bench", prompt="doc_summary@v1", latency_ms=800.0,
        )  # fmt: skip
        yield record.params()


async def timed(label: str, runs: int, fn) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    print(
        f"{label:<44} median {median:8.3f} ms   p95 {sorted(samples)[int(runs * 0.95) - 1]:8.3f} ms"
    )
    return median


async def main(rows: int) -> None:
    now = time.time()
    config = load_config(None).with_overrides(
        {"budgets.daily_usd": 1e9, "budgets.monthly_usd": 1e10,
         "budgets.agents": {"critic": {"daily_usd": 1e9}}}
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "bench.db")
        started = time.perf_counter()
        async with store.transaction() as conn:
            await conn.executemany(_INSERT, synthetic_rows(rows, now))
        load_s = time.perf_counter() - started
        print(f"loaded {rows:,} ledger rows in {load_s:.1f} s ({rows / load_s:,.0f} rows/s)")
        rollup = await store.fetchval("SELECT COUNT(*) FROM llm_daily")
        print(f"daily rollup rows: {rollup:,}")

        async def pane() -> None:
            await costs_report(store, config, now)
            await budget_status(store, config, now)
            await llm_status(store, config, env={}, now=now)

        report_ms = await timed("costs_report", 30, lambda: costs_report(store, config, now))
        pane_ms = await timed("pane refresh (report + budgets + status)", 30, pane)

        # Recording: a bare ledger insert, then the full settle path the assistant uses.
        record = CallRecord(at=now, agent="critic", model="claude-sonnet-5-5", status="ok",
                            usage=Usage(1200, 300), cost_usd=0.0054, tier="sonnet")  # fmt: skip
        insert_ms = await timed(
            "record_call (insert + rollup trigger)", 1000, lambda: record_call(store, record)
        )
        budget = Budget(store, config)
        settle_ms = await timed(
            "settle (insert + trigger + alert checks)", 1000, lambda: budget.settle(None, record)
        )

        async def cycle() -> None:
            reservation = await budget.reserve("critic", 0.01)
            await budget.settle(reservation, record)

        cycle_ms = await timed("reserve + settle (one whole call's overhead)", 500, cycle)
        await store.close()
    print()
    print(f"pane refresh vs 100 ms target: {pane_ms / 100:.2f}x of the budget")
    print(f"recording a call vs 1 ms target: {settle_ms:.3f} ms ({settle_ms / 1:.2f}x); "
          f"bare insert {insert_ms:.3f} ms; reserve+settle {cycle_ms:.3f} ms")  # fmt: skip
    print(f"report over {rows:,} rows: {report_ms:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().rows))
