"""The four agents on Django 5.2 (885 .py files, 159k lines), each one's share and all together.

Prints (medians of --runs):
  1. each installed agent alone on the root commit with ``analyze_all`` (change set built once,
     outside the timing; a fresh store-backed cache each run), then all of them concurrently through
     ``core.pipeline.run_agent_locally`` as the pipeline runs them; target: 5 s wall on 2 cores;
  2. ``controlroom --run-once --all`` with all enabled agents, a new process and a new store;
  3. the impact agent on a typical 3-file commit, cold and with the parent's API cached (a previous
     commit changed the same three files); target: 1 s;
  4. the docs agent against ``interrogate`` (in-process API and command) on the same tree; target:
     within 1.5x. interrogate is only measured when installed (it is not a dependency).

Usage: ``python benchmarks/bench_agents.py [--runs N]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from django_tree import django_repo, make_three_file_commit, python_stats  # noqa: E402

from controlroom.core.git import GitRepository  # noqa: E402
from controlroom.core.model import AgentContext, ChangeSet  # noqa: E402
from controlroom.core.pipeline import StoreAgentCache, run_agent_locally  # noqa: E402
from controlroom.core.plugins import load_agents  # noqa: E402
from controlroom.core.settings import load_defaults  # noqa: E402
from controlroom.core.store import Store  # noqa: E402
from controlroom.core.toolkit import parsing as impact_pool  # noqa: E402

NAMES = ["critic", "tests", "docs", "impact"]


async def fresh_store(work: Path) -> Store:
    path = work / f"bench-{time.perf_counter_ns()}.db"
    return await Store.open(path)


def context(
    repo: Path,
    store: Store,
    name: str,
    *,
    analyze_all: bool,
    enabled: list[str] | None = None,
    overrides: dict | None = None,
) -> AgentContext:
    settings = load_defaults()  # as the pipeline passes it: docs+impact then share one parse
    settings["agents"]["enabled"] = enabled or [name]
    settings.setdefault(name, {}).update(overrides or {})
    return AgentContext(
        repo_path=repo,
        config=settings[name],
        analyze_all=analyze_all,
        cache=StoreAgentCache(store, name),
        worktree_factory=GitRepository(repo).worktree,
        settings=settings,
    )


async def time_alone(
    agent, change: ChangeSet, repo: Path, work: Path, overrides: dict | None = None
) -> tuple[float, int]:
    store = await fresh_store(work)
    try:
        ctx = context(repo, store, agent.name, analyze_all=True, overrides=overrides)
        start = time.perf_counter()
        run = await run_agent_locally(agent, change, ctx, timeout=600)
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    if run.error:
        print(f"  {agent.name}: {run.status.value}: {run.error}")
    return elapsed, len(run.output.findings)


async def time_together(agents, change: ChangeSet, repo: Path, work: Path) -> tuple[float, dict]:
    store = await fresh_store(work)
    names = [a.name for a in agents]
    try:
        start = time.perf_counter()
        runs = await asyncio.gather(
            *(
                run_agent_locally(
                    a,
                    change,
                    context(repo, store, a.name, analyze_all=True, enabled=names),
                    timeout=600,
                )
                for a in agents
            )
        )
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    return elapsed, {r.agent: r.duration_s for r in runs}


def show(label: str, times: list[float], extra: str = "") -> float:
    median = statistics.median(times)
    print(f"{label:<62} {median:7.3f} s  (min {min(times):.3f}){extra}")
    return median


def run_once_all(repo: Path, work: Path) -> float:
    db = work / f"run-once-{time.perf_counter_ns()}.db"
    command = shutil.which("controlroom") or str(Path(sys.executable).with_name("controlroom"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    start = time.perf_counter()
    result = subprocess.run(
        [command, "--run-once", "--all", "--repo", str(repo), "--db", str(db), "--quiet",
         "--fail-on", "never"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(f"  run-once failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return elapsed


async def impact_three_files(repo: Path, work: Path, runs: int) -> None:
    from controlroom.agents.impact.agent import ImpactAgent

    git = GitRepository(repo)
    store = await fresh_store(work)
    try:
        agent = ImpactAgent()
        root = git.changeset(git.head_sha())
        await agent.analyze(root, context(repo, store, "impact", analyze_all=False))  # graph
        first = git.changeset(make_three_file_commit(repo))
        cold = []
        for _ in range(runs):
            await store.execute("DELETE FROM agent_cache WHERE key LIKE 'api:%'")
            ctx = context(repo, store, "impact", analyze_all=False)
            start = time.perf_counter()
            await agent.analyze(first, ctx)
            cold.append(time.perf_counter() - start)
        show("impact, 3-file commit, parent API not cached (graph cached)", cold)
        second = git.changeset(make_three_file_commit(repo))  # the same three files again
        warm, out = [], None
        for _ in range(runs):
            ctx = context(repo, store, "impact", analyze_all=False)
            start = time.perf_counter()
            out = await agent.analyze(second, ctx)
            warm.append(time.perf_counter() - start)
        api = out.metrics["api"] if out else {}
        show("impact, 3-file commit, parent API cached", warm, f"  api {api}; target 1.0 s")
    finally:
        await store.close()


async def docs_vs_interrogate(change: ChangeSet, repo: Path, work: Path, runs: int) -> None:
    from controlroom.agents.docs.agent import DocWriterAgent

    agent = DocWriterAgent()
    times = []
    for _ in range(runs):
        # every file, as interrogate reads them (test modules too)
        t, _n = await time_alone(agent, change, repo, work, {"include_tests": True})
        times.append(t)
    docs_t = show("docs agent alone, whole tree (analyze_all)", times)
    from controlroom.agents.docs.agent import build_jobs, scan_files

    jobs = build_jobs(change, True, {**load_defaults()["docs"], "include_tests": True})
    one = []
    for _ in range(runs):
        start = time.perf_counter()
        scan_files(jobs)
        one.append(time.perf_counter() - start)
    one_t = show("docs scan in one process (no worker pool), same files", one)
    try:
        from interrogate.config import InterrogateConfig
        from interrogate.coverage import InterrogateCoverage
    except ImportError:
        print("  interrogate is not installed: pip install interrogate (benchmark only)")
        return
    api_times = []
    for _ in range(runs):
        start = time.perf_counter()
        InterrogateCoverage(paths=[str(repo)], conf=InterrogateConfig()).get_coverage()
        api_times.append(time.perf_counter() - start)
    api_t = show("interrogate, same tree (in-process API)", api_times)
    cmd_times = []
    exe = shutil.which("interrogate")
    for _ in range(runs if exe else 0):
        start = time.perf_counter()
        subprocess.run([exe, "-q", str(repo)], capture_output=True)
        cmd_times.append(time.perf_counter() - start)
    if cmd_times:
        show("interrogate, same tree (command)", cmd_times)
    print(f"  ratio docs agent / interrogate (in-process): {docs_t / api_t:.2f}x (target <= 1.5x)")
    print(f"  ratio one-process docs scan / interrogate: {one_t / api_t:.2f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    repo = django_repo()
    work = Path(tempfile.mkdtemp(prefix="controlroom-bench-agents-"))
    try:
        files, lines = python_stats(repo)
        cores = len(os.sched_getaffinity(0))
        print(f"tree: Django 5.2, {files} .py files, {lines} lines; {cores} cores; medians")
        git = GitRepository(repo)
        change = git.changeset(git.head_sha())
        agents = load_agents([n for n in NAMES])
        missing = sorted(set(NAMES) - {a.name for a in agents})
        if missing:
            print(f"  not installed (skipped): {', '.join(missing)}")
        impact_pool.warm_up()
        print("-- each agent alone, --all on the root commit (worker pool warm)")
        for agent in agents:
            times = [(await time_alone(agent, change, repo, work))[0] for _ in range(args.runs)]
            show(f"{agent.name}", times)
        print("-- all agents concurrently (as the pipeline runs them)")
        totals, shares = [], []
        for _ in range(args.runs):
            total, share = await time_together(agents, change, repo, work)
            totals.append(total)
            shares.append(share)
        show("all agents, wall", totals, "  target 5.0 s on 2 cores")
        median_run = shares[totals.index(statistics.median_low(totals))]
        print("  each agent's duration in that run: " + ", ".join(
            f"{name} {seconds:.2f} s" for name, seconds in sorted(median_run.items())
        ))  # fmt: skip
        impact_pool.shutdown()
        print("-- end to end: a new process, a new store (worker pool started cold)")
        show("controlroom --run-once --all", [run_once_all(repo, work) for _ in range(args.runs)])
        print("-- impact on an everyday commit")
        await impact_three_files(repo, work, args.runs)
        print("-- docs agent vs interrogate (worker pool warm)")
        impact_pool.warm_up()
        await docs_vs_interrogate(change, repo, work, args.runs)
    finally:
        impact_pool.shutdown()
        shutil.rmtree(repo.parent, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
