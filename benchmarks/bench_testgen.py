"""The tests agent's cost, per phase: resolution, ghostwriting and sandboxed validation.

Measures, several runs each, medians printed:
  1. a typical small commit (two modules, five changed functions, one test module): resolution,
     generation + validation and total, with the number of tests run;
  2. the Django 5.2 sdist with its test suite (``--full`` tree, about 2,700 .py files): resolution of
     a 3-file commit (``make_three_file_commit``) and of ``--all`` (whole tree, no generation);
  3. the same 3-file commit end to end (ghostwriting in worktree children; the new functions have
     no annotations, so no test is offered and no validation runs).

Usage: ``python benchmarks/bench_testgen.py [--runs N] [--no-django]``.
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

from django_tree import GIT_ENV, django_repo, make_three_file_commit  # noqa: E402

from controlroom.agents.testgen.agent import TestGeneratorAgent  # noqa: E402
from controlroom.agents.testgen.find import _USAGE_CACHE, resolve  # noqa: E402
from controlroom.core.git import GitRepository  # noqa: E402
from controlroom.core.model import AgentContext, AgentOutput  # noqa: E402

SMALL = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "calc/codec.py": "def to_upper(s: str) -> str:\n    return s.upper()\n",
    "tests/test_ops.py": "from calc.ops import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}
CHANGE = {
    "calc/ops.py": SMALL["calc/ops.py"]
    + "\n\ndef mul(a: int, b: int) -> int:\n    return a * b\n"
    + "\n\ndef mean(xs: list[float]) -> float:\n    return sum(xs) / len(xs) if xs else 0.0\n",
    "calc/codec.py": SMALL["calc/codec.py"]
    + "\n\ndef encode(s: str) -> bytes:\n    return s.encode('utf-8')\n"
    + "\n\ndef decode(b: bytes) -> str:\n    return b.decode('utf-8')\n"
    + "\n\ndef normalize(s: str) -> str:\n    return ' '.join(s.split())\n",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    return git(repo, "rev-parse", "HEAD")


def run_agent(repo: Path, sha: str, *, analyze_all: bool = False) -> AgentOutput:
    git_repo = GitRepository(repo)
    ctx = AgentContext(
        repo_path=repo,
        config={},
        analyze_all=analyze_all,
        worktree_factory=git_repo.worktree,
    )
    return asyncio.run(TestGeneratorAgent().analyze(git_repo.changeset(sha), ctx))


def medians(outputs: list[AgentOutput]) -> dict[str, float]:
    keys = outputs[0].metrics["timings_s"].keys()
    return {k: statistics.median(o.metrics["timings_s"][k] for o in outputs) for k in keys}


def typical_commit(runs: int) -> None:
    repo = Path(tempfile.mkdtemp(prefix="bench-testgen-")) / "repo"
    repo.mkdir()
    try:
        git(repo, "init", "-q", "-b", "main")
        commit(repo, SMALL)
        sha = commit(repo, CHANGE)
        outputs = [run_agent(repo, sha) for _ in range(runs)]
        m = outputs[-1].metrics
        print(
            f"typical commit: {m['changed_functions']} changed functions, {m['untested']} untested,"
            f" {m['generated']} generated, validation {m['validation']}, offered {m['offered']},"
            f" possible bugs {m['possible_bugs']}"
        )
        for key, value in medians(outputs).items():
            print(f"  {key:<24} {value:7.3f} s (median of {runs})")
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)


def store_cached_resolution(repo: Path, sha: str) -> float:
    """Resolution in a "new process" (memory cache cleared) whose store cache is already filled."""
    from controlroom.core.pipeline import StoreAgentCache
    from controlroom.core.store import Store

    async def run() -> float:
        store = await Store.open(repo.parent / "bench.db")
        try:
            git_repo = GitRepository(repo)
            ctx = AgentContext(
                repo_path=repo, config={"generate": False}, cache=StoreAgentCache(store, "tests")
            )
            change = git_repo.changeset(sha)
            _USAGE_CACHE.clear()
            await TestGeneratorAgent().analyze(change, ctx)  # parses, fills the store
            _USAGE_CACHE.clear()
            output = await TestGeneratorAgent().analyze(change, ctx)
            return output.metrics["timings_s"]["resolve"]
        finally:
            await store.close()

    return asyncio.run(run())


def django(runs: int) -> None:
    repo = django_repo(full=True)
    try:
        root_sha = git(repo, "rev-parse", "HEAD")
        sha = make_three_file_commit(repo)
        change = GitRepository(repo).changeset(sha)
        cold_start = time.perf_counter()
        cold = resolve(change, repo, analyze_all=False, use_coverage=False)
        cold_s = time.perf_counter() - cold_start
        warm = []
        for _ in range(runs):
            start = time.perf_counter()
            resolve(change, repo, analyze_all=False, use_coverage=False)
            warm.append(time.perf_counter() - start)
        print(
            f"django 3-file commit, resolution: cold {cold_s:.3f} s"
            f" ({cold.test_modules_read} test modules parsed), warm {statistics.median(warm):.3f} s;"
            f" untested {len(cold.untested)}"
        )
        print(f"  store cache, new process: resolution {store_cached_resolution(repo, sha):.3f} s")
        full = GitRepository(repo).changeset(root_sha)
        times, result = [], None
        for _ in range(runs):
            _USAGE_CACHE.clear()
            start = time.perf_counter()
            result = resolve(full, repo, analyze_all=True, use_coverage=False)
            times.append(time.perf_counter() - start)
        assert result is not None
        changed = sum(len(m.changed) for m in result.modules)
        print(
            f"django --all, resolution (cold cache): {statistics.median(times):.3f} s;"
            f" {changed} public functions in {len(result.modules)} modules,"
            f" {len(result.untested)} untested, {result.test_modules_read} test modules parsed"
        )
        outputs = [run_agent(repo, sha) for _ in range(runs)]
        m = outputs[-1].metrics
        print(
            f"django 3-file commit end to end: untested {m['untested']}, generated {m['generated']}"
        )
        for key, value in medians(outputs).items():
            print(f"  {key:<24} {value:7.3f} s (median of {runs})")
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-django", action="store_true")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    typical_commit(args.runs)
    if not args.no_django:
        django(args.runs)


if __name__ == "__main__":
    main()
