"""Retrieval before an ``apply`` attempt: the closest past attempts and the strategies' records.

Run: python benchmarks/bench_fix_memory.py [--attempts 10000] [--lookups 300]

A knowledge base of ``--attempts`` recorded attempts (40 rules, 300 files in 30 directories, four
strategies, one in three failed with a parsed failure) is written through ``record_attempt``; then
what ``apply`` does before each attempt (``closest_attempts`` + ``strategy_records`` +
``prompt_section``) runs for ``--lookups`` tasks. Printed: recording time per attempt and the
retrieval latency p50 / p95 / max (the issue asks p95 <= 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from controlroom.core.embeddings import SemanticUnavailable, embedder
from controlroom.core.fixmemory import (
    closest_attempts,
    prompt_section,
    record_attempt,
    strategy_records,
)
from controlroom.core.model import Severity, Task, TaskState
from controlroom.core.store import Store

FAILURES = [
    "E   ModuleNotFoundError: No module named 'numpy'",
    "E       assert 3 == 4",
    "tests: making and checking the fix took over 120 s",
    "pkg/a.py no longer parses after ruff's fix: invalid syntax",
    "ruff's fix left the rule in place (2 -> 2)",
]


def make_task(rng: random.Random, n: int) -> Task:
    rule = f"{rng.choice(['S', 'B', 'E', 'DOC', 'TEST'])}{rng.randint(100, 107)}"
    folder = f"pkg{rng.randrange(30)}/sub{rng.randrange(3)}"
    return Task(
        id=n, fingerprint=f"fp{n}", state=TaskState.APPROVED, priority=50, confidence=0.7,
        confidence_reason="", severity=Severity.MEDIUM, rule=rule,
        path=f"{folder}/module_{rng.randrange(10)}.py", line=rng.randint(1, 400),
        message=f"{rng.choice(['handler', 'parse', 'load', 'save', 'render'])}_{n % 97} "
        f"{rng.choice(['is untested', 'has no docstring', 'uses eval', 'line too long'])}",
        agents=[rng.choice(["critic", "docs", "tests"])], symbol=None, suggested_fix=None,
        first_seen_commit="a", last_seen_commit="a", seen_count=1, created_at=0.0, updated_at=0.0,
    )  # fmt: skip


async def main(attempts: int, lookups: int) -> None:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "state.db")
        started = time.perf_counter()
        for n in range(attempts):
            task = make_task(rng, n)
            failed = rng.random() < 0.34
            await record_attempt(
                store, task, strategy=rng.choice(["ruff-fix", "ghostwriter", "examples", "draft"]),
                agent=task.agents[0], outcome="failed" if failed else "applied",
                duration_s=rng.random() * 5, summary="the check failed" if failed else "fixed",
                output=rng.choice(FAILURES) if failed else "", at=1.7e9 + n,
            )  # fmt: skip
        recording = (time.perf_counter() - started) / attempts
        print(f"recorded {attempts} attempts: {recording * 1e3:.2f} ms each")
        tasks = [make_task(rng, attempts + n) for n in range(lookups)]
        await retrievals(store, tasks, semantic=False)
        try:
            embedder()
        except SemanticUnavailable as exc:
            print(f"by meaning: skipped ({exc})")
        else:
            t0 = time.perf_counter()
            await closest_attempts(store, tasks[0], semantic=True)
            print(
                f"by meaning: the first retrieval embeds every attempt in {time.perf_counter() - t0:.2f} s"
            )
            await retrievals(store, tasks, semantic=True)
        await store.close()


async def retrievals(store: Store, tasks: list, *, semantic: bool) -> None:
    timings = []
    for task in tasks:
        t0 = time.perf_counter()
        past = await closest_attempts(store, task, semantic=semantic)
        await strategy_records(store, task.rule, ["ruff-fix", "ghostwriter"])
        prompt_section(past)
        timings.append(time.perf_counter() - t0)
    timings.sort()
    print(
        f"{len(tasks)} retrievals before an attempt (closest 5, records, briefing"
        f"{', by meaning' if semantic else ''}): p50 {statistics.median(timings) * 1e3:.1f} ms, "
        f"p95 {timings[int(0.95 * len(timings))] * 1e3:.1f} ms, max {timings[-1] * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=300)
    options = parser.parse_args()
    asyncio.run(main(options.attempts, options.lookups))
