"""Two workers, real agent work: the store-based executor against Celery with Redis, side by side.

Run: python benchmarks/bench_distributed.py [--commits 100] [--agents critic,docs]
     [--broker redis://127.0.0.1:6379/7]   (the broker's database is flushed before and after)

A generated repository of ``--commits`` commits (three 60-line modules changed each time, on top
of 40 untouched ones) gives ``commits x agents`` units of real agent work (default 200: the
critic runs ruff, the docs agent parses and drafts). Both backends get two workers of 5 units at
once each, on this machine. Printed per backend: wall time, throughput (units/s), dispatch latency
(from the coordinator's submit to a worker starting the unit: p50, p99), the split between workers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from controlroom.core.store import Store
from controlroom.core.subagents.celery_app import live_queues, make_app
from controlroom.core.subagents.celery_executor import CeleryExecutor
from controlroom.core.subagents.celery_settings import CelerySettings
from controlroom.core.subagents.executor import StoreExecutor
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.subagents.units import WorkUnit
from controlroom.core.workspace import resolve_workspace

GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]
WORKERS = ("bench-1", "bench-2")


@dataclass(frozen=True)
class Paced:
    count: int = 40
    rate: float = 5.0


args_paced = Paced()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def module_text(commit: int, index: int) -> str:
    body = []
    for n in range(10):
        body.append(
            f"def handler_{n}(value, items=[]):\n"
            f"    result = eval(value)\n"
            f"    subprocess.call('ls ' + str(result), shell=True)\n"
            f"    return result + {commit * 100 + n}\n"
        )
    return f"import subprocess\n\n\n# module {index}, revision {commit}\n" + "\n\n".join(body)


def make_repo(root: Path, commits: int) -> list[str]:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for index in range(40):
        path = root / "lib" / f"stable_{index}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(module_text(0, index))
    git(root, "add", ".")
    git(root, "commit", "-qm", "initial")
    shas = []
    for commit in range(commits):
        for index in range(3):
            path = root / "pkg" / f"module_{index}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_text(module_text(commit + 1, index))
        git(root, "add", ".")
        git(root, "commit", "-qm", f"change {commit}")
        shas.append(git(root, "rev-parse", "HEAD").strip())
    return shas


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 (closed with the process)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)  # fmt: skip


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def warm_up(executor: StoreExecutor, units: list[WorkUnit]) -> float:
    """One unit per worker slot first (not counted): imports, clones and the first inspection
    are start-up costs, paid once per worker; returns how long they took."""
    started = time.perf_counter()
    await asyncio.gather(*[executor.run(u) for u in units[: 2 * len(WORKERS) * 5]])
    return time.perf_counter() - started


async def run_units(executor: StoreExecutor, units: list[WorkUnit]) -> tuple[float, list, list]:
    started = time.perf_counter()
    submitted: list[float] = []
    futures = []
    for unit in units:
        submitted.append(time.time())
        futures.append(await executor.submit(unit))
    results = await asyncio.gather(*futures)
    return time.perf_counter() - started, submitted, results


async def paced(executor: StoreExecutor, units: list[WorkUnit], rate: float) -> tuple[list, list]:
    """``units`` offered at ``rate`` per second (below capacity): dispatch latency is then the
    backend's own overhead, not time spent queueing behind other units."""
    submitted: list[float] = []
    futures = []
    t0 = time.perf_counter()
    for i, unit in enumerate(units):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        submitted.append(time.time())
        futures.append(await executor.submit(unit))
    return submitted, list(await asyncio.gather(*futures))


def report(name: str, wall: float, dispatch_ms: list[float], results: list) -> dict[str, float]:
    failed = sum(1 for r in results if not r.ok)
    split = dict(sorted(Counter(r.where for r in results).items()))
    figures = {
        "wall": wall,
        "rate": len(results) / wall,
        "p50": percentile(dispatch_ms, 50),
        "p99": percentile(dispatch_ms, 99),
        "unit": sum(r.duration_s for r in results) / len(results),
    }
    print(f"{name}: {len(results)} units in {wall:.2f} s, failed {failed}, per worker {split}")
    if failed:
        print(f"  first error: {next(r.error for r in results if not r.ok)}")
    return figures


async def store_backend(work: Path, repo: Path, units: list[WorkUnit], agents: str) -> dict:
    workspace = resolve_workspace(repo, work / "store.db")
    store = await Store.open(workspace.db_path)
    cmd = [sys.executable, "-m", "controlroom.tui.commands.worker", "--repo", str(repo), "--db",
           str(workspace.db_path), "--capabilities", agents, "--max-concurrent", "5"]  # fmt: skip
    procs = [start([*cmd, "--name", n], work / f"store-{n}.log") for n in WORKERS]
    executor = StoreExecutor(
        store, workspace=workspace, settings=SubagentSettings(local_capabilities=())
    )
    try:
        registry = Registry(store)
        deadline = time.monotonic() + 60
        while len([s for s in await registry.list() if s.status == "live"]) < len(WORKERS):
            if time.monotonic() > deadline:
                raise SystemExit("store workers did not register")
            await asyncio.sleep(0.05)
        warm = await warm_up(executor, units)
        wall, _submitted, results = await run_units(executor, units)
        ids = [r.assignment_id for r in results]
        rows = await store.fetchall(
            f"SELECT started_at - created_at FROM assignments WHERE id IN ({','.join('?' * len(ids))})",
            ids,
        )
        dispatch = [max(0.0, r[0]) * 1000 for r in rows if r[0] is not None]
        figures = report("store ", wall, dispatch, results) | {"warm": warm}
        _at, slow = await paced(executor, units[: args_paced.count], args_paced.rate)
        ids = [r.assignment_id for r in slow]
        rows = await store.fetchall(
            f"SELECT started_at - created_at FROM assignments WHERE id IN ({','.join('?' * len(ids))})",
            ids,
        )
        steady = [max(0.0, r[0]) * 1000 for r in rows if r[0] is not None]
        return figures | {"sp50": percentile(steady, 50), "sp99": percentile(steady, 99)}
    finally:
        await executor.close()
        stop(procs)
        await store.close()


async def celery_backend(
    work: Path, repo: Path, units: list[WorkUnit], agents: str, broker: str
) -> dict:
    import redis

    redis.Redis.from_url(broker).flushdb()
    config = work / "celery.toml"
    config.write_text(f'[subagents]\nbackend = "celery"\nbroker_url = "{broker}"\n')
    workspace = resolve_workspace(repo, work / "celery.db", config)
    store = await Store.open(workspace.db_path)
    cmd = [sys.executable, "-m", "controlroom.tui.commands.worker", "--backend", "celery",
           "--repo", str(repo), "--config", str(config), "--capabilities", agents,
           "--max-concurrent", "5", "--cache-dir", str(work / "cache"),
           "--loglevel", "WARNING"]  # fmt: skip
    procs = [start([*cmd, "--name", n], work / f"celery-{n}.log") for n in WORKERS]
    celery = CelerySettings.from_config(workspace.config)
    executor = CeleryExecutor(
        store, celery=celery, workspace=workspace, settings=SubagentSettings(local_capabilities=())
    )
    probe_app = make_app(celery)
    try:
        deadline = time.monotonic() + 120
        while True:
            consumers = live_queues(probe_app, 0.5)
            if len(set().union(*consumers.values()) if consumers else ()) >= len(WORKERS):
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("celery workers did not come up: see " + str(work))
        warm = await warm_up(executor, units)
        wall, submitted, results = await run_units(executor, units)
        dispatch = [
            max(0.0, r.extra["started_at"] - at) * 1000
            for r, at in zip(results, submitted, strict=True)
            if r.extra.get("started_at")
        ]
        figures = report("celery", wall, dispatch, results) | {"warm": warm}
        at, slow = await paced(executor, units[: args_paced.count], args_paced.rate)
        steady = [
            max(0.0, r.extra["started_at"] - t) * 1000
            for r, t in zip(slow, at, strict=True)
            if r.extra.get("started_at")
        ]
        return figures | {"sp50": percentile(steady, 50), "sp99": percentile(steady, 99)}
    finally:
        await executor.close()
        probe_app.close()
        stop(procs)
        await store.close()
        redis.Redis.from_url(broker).flushdb()


async def main(args: argparse.Namespace) -> int:
    names = [a.strip() for a in args.agents.split(",") if a.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo = work / "repo"
        shas = make_repo(repo, args.commits)
        units = [WorkUnit.agent(agent, sha) for sha in shas for agent in names]
        print(
            f"{len(units)} units ({', '.join(names)} on {len(shas)} commits of a 43-module"
            f" repository), two workers x 5 at once each, on {os.cpu_count()} CPUs"
        )
        store = await store_backend(work, repo, units, args.agents)
        celery = await celery_backend(work, repo, units, args.agents, args.broker)
    print()
    print(f"paced: {args.paced} units offered at {args.rate:g}/s after the burst")
    print(f"{'':26}{'store':>10}{'celery':>10}{'celery/store':>14}")
    rows = [
        ("warm-up, 20 units (s)", "warm"),
        ("wall time (s)", "wall"),
        ("throughput (units/s)", "rate"),
        ("burst dispatch p50 (ms)", "p50"),
        ("burst dispatch p99 (ms)", "p99"),
        ("paced dispatch p50 (ms)", "sp50"),
        ("paced dispatch p99 (ms)", "sp99"),
        ("mean unit run (s)", "unit"),
    ]
    for label, key in rows:
        ratio = celery[key] / store[key] if store[key] else float("nan")
        print(f"{label:26}{store[key]:>10.2f}{celery[key]:>10.2f}{ratio:>13.2f}x")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=100)
    parser.add_argument("--agents", default="critic,docs")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--paced", type=int, default=40, help="units offered at --rate")
    parser.add_argument("--rate", type=float, default=5.0, help="units per second, paced")
    parsed = parser.parse_args()
    args_paced = Paced(parsed.paced, parsed.rate)
    sys.exit(asyncio.run(main(parsed)))
