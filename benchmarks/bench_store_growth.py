"""Store growth per analyzed commit, and the cost of the executor boundary for a local agent run.

Run: python benchmarks/bench_store_growth.py [--commits 20] [--findings 12000]

1. A generated repository of ``--commits`` commits (three Python files changed each time, with
   things the critic and docs agents flag) is analyzed commit by commit through the runtime's path:
   the real critic and docs agents behind ``StoreExecutor`` (no workers, so every run is local).
   Printed: the store's size (file + WAL after a checkpoint) and its growth per commit, and what
   the ``assignments`` table holds.
2. One agent returning ``--findings`` findings, run directly (``run_agent_locally``) and through
   the executor boundary (``agent_runner(StoreExecutor)``): the difference is the boundary's
   overhead, and the store's growth is what each such run leaves behind.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from controlroom.core.model import AgentContext, AgentOutput, ChangeSet, Finding, Severity
from controlroom.core.pipeline import analyze_commit, default_context_factory, run_agent_locally
from controlroom.core.plugins import load_agents
from controlroom.core.store import Store
from controlroom.core.subagents.executor import StoreExecutor, agent_runner
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.workspace import resolve_workspace

GIT_ENV = ["-c", "user.name=Bench", "-c", "user.email=bench@example.invalid"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ENV, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def module_text(commit: int, index: int) -> str:
    """A module with a few things to flag; each commit changes every function body."""
    functions = []
    for n in range(12):
        functions.append(
            f"def handler_{n}(value, items=[]):\n"
            f"    print('commit {commit} handler {n}', value)\n"
            f"    result = eval(value)\n"
            f"    subprocess.call('ls ' + str(result), shell=True)\n"
            f"    return result + {commit * 100 + n}\n"
        )
    return f"import subprocess\n\n\n# module {index}, revision {commit}\n" + "\n\n".join(functions)


def make_repo(root: Path, commits: int) -> list[str]:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("bench\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "initial")
    shas = []
    for commit in range(commits):
        for index in range(3):
            path = root / "pkg" / f"module_{index}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_text(module_text(commit, index))
        git(root, "add", ".")
        git(root, "commit", "-qm", f"change {commit}")
        shas.append(git(root, "rev-parse", "HEAD").strip())
    return shas


async def store_bytes(store: Store) -> int:
    """The store's size on disk once the WAL is folded into the file."""
    await store.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    total = 0
    for suffix in ("", "-wal"):
        path = Path(f"{store.path}{suffix}")
        if path.exists():
            total += path.stat().st_size
    return total


async def assignments_summary(store: Store) -> str:
    row = await store.fetchone(
        "SELECT count(*), coalesce(sum(length(result_json)), 0),"
        " coalesce(sum(length(payload_json)), 0) FROM assignments"
    )
    return f"{row[0]} rows, result_json {row[1]:,} bytes, payload_json {row[2]:,} bytes"


def executor_for(store: Store, workspace) -> StoreExecutor:
    return StoreExecutor(
        store, workspace=workspace, settings=SubagentSettings.from_config(workspace.config)
    )


async def growth(work: Path, commits: int) -> None:
    repo = work / "repo"
    shas = make_repo(repo, commits)
    workspace = resolve_workspace(repo, work / "growth.db")
    store = await Store.open(workspace.db_path)
    executor = executor_for(store, workspace)
    try:
        timeout = float(workspace.config.get("agents.timeout", 30.0))
        runner = agent_runner(executor, timeout=timeout)
        agents = load_agents(["critic", "docs"])
        start = await store_bytes(store)
        started = time.perf_counter()
        findings = 0
        for sha in shas:
            report = await analyze_commit(store, workspace, sha, agents, runner=runner)
            findings += sum(len(run.output.findings) for run in report.runs)
        elapsed = time.perf_counter() - started
        end = await store_bytes(store)
        per_commit = (end - start) / len(shas)
        print(
            f"growth: {len(shas)} commits ({findings} findings, critic + docs, local runs) "
            f"in {elapsed:.1f} s"
        )
        print(f"  store {start:,} -> {end:,} bytes: {per_commit:,.0f} bytes per analyzed commit")
        print(f"  assignments: {await assignments_summary(store)}")
    finally:
        await executor.close()
        await store.close()


class ManyFindings:
    """An agent that returns ``count`` findings at once (a big run on a big tree)."""

    name = "critic"

    def __init__(self, count: int) -> None:
        self.count = count

    async def analyze(self, change: ChangeSet, ctx: AgentContext) -> AgentOutput:
        findings = [
            Finding(
                agent=self.name,
                rule=f"B{n % 50:03d}",
                severity=Severity.MEDIUM,
                path=f"pkg/module_{n % 300}.py",
                line=n % 900 + 1,
                message=f"finding number {n} of a big run, with a message of ordinary length",
                snippet=f"value_{n} = compute(value_{n - 1}, options)",
                symbol=f"pkg.module_{n % 300}.handler_{n % 40}",
                confidence=0.7,
                suggested_fix="use a safer call",
            )
            for n in range(self.count)
        ]
        return AgentOutput(findings=findings, metrics={"files": 300})


async def boundary(work: Path, count: int, repeats: int = 5) -> None:
    repo = work / "repo"
    workspace = resolve_workspace(repo, work / "boundary.db")
    store = await Store.open(workspace.db_path)
    executor = executor_for(store, workspace)
    try:
        from controlroom.core.git import GitRepository

        change = GitRepository(repo).changeset(git(repo, "rev-parse", "HEAD").strip())
        agent = ManyFindings(count)
        ctx = default_context_factory(store, workspace, False)(agent, change)
        runner = agent_runner(executor, timeout=120.0)
        direct, through = [], []
        start = await store_bytes(store)
        for _ in range(repeats):
            t0 = time.perf_counter()
            await run_agent_locally(agent, change, ctx, timeout=120.0)
            direct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run = await runner(agent, change, ctx)
            through.append(time.perf_counter() - t0)
            assert len(run.output.findings) == count
        end = await store_bytes(store)
        d, t = statistics.median(direct), statistics.median(through)
        print(f"boundary: one local run of {count:,} findings (median of {repeats})")
        print(f"  run_agent_locally {d:.3f} s; through StoreExecutor {t:.3f} s")
        print(f"  overhead of the executor boundary: {t - d:.3f} s per run")
        print(f"  store growth: {(end - start) / repeats:,.0f} bytes per run")
        print(f"  assignments: {await assignments_summary(store)}")
    finally:
        await executor.close()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--findings", type=int, default=12_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="controlroom-growth-"))
    try:
        asyncio.run(growth(work, args.commits))
        asyncio.run(boundary(work, args.findings))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
