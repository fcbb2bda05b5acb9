"""The critic against ruff alone on the Django 5.2 tree (885 .py files, 159k lines), side by side.

Measures, several runs each, medians printed:
  1. ``ruff check`` with the critic's rules on the tree (the baseline);
  2. the critic agent through its Python API on the root commit with ``analyze_all`` (the change
     set is built once, outside the timing), and the change set construction on its own;
  3. ``GitRepository.changeset`` of a 3-file commit, and the critic on it (changed lines only);
  4. when ``tui/run_once.py`` exists: ``controlroom --run-once --all`` (critic only) on the root
     commit and ``controlroom --run-once`` on the 3-file commit, as subprocesses, end to end.

Usage: ``python benchmarks/bench_critic.py [--runs N] [--full]`` (``--full``: the whole sdist).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from django_tree import django_repo, make_three_file_commit, python_stats  # noqa: E402

from controlroom.agents.critic.agent import CriticAgent, CriticSettings  # noqa: E402
from controlroom.agents.critic.ruff import ruff_arguments, ruff_binary  # noqa: E402
from controlroom.core.git import GitRepository  # noqa: E402
from controlroom.core.model import AgentContext  # noqa: E402
from controlroom.core.settings import load_defaults  # noqa: E402
from controlroom.core.testpaths import is_test_path  # noqa: E402


def median_time(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ruff_alone(repo: Path, settings: CriticSettings) -> None:
    select, ignore = settings.ruff_rules()
    args = ruff_arguments(select, ignore, settings.max_complexity)
    subprocess.run([ruff_binary(), *args, "."], cwd=repo, check=True, capture_output=True)


def run_once(repo: Path, *extra: str) -> None:
    db = repo.parent / "bench-state.db"
    script = Path(sysconfig.get_path("scripts")) / "controlroom"
    command = str(script) if script.exists() else (shutil.which("controlroom") or "controlroom")
    cmd = [command, "--run-once", "--repo", str(repo), "--db", str(db)]
    result = subprocess.run(
        [*cmd, "--agents", "critic", "--fail-on", "never", "--quiet", *extra],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"run-once failed ({result.returncode}): {result.stderr.strip()}")
    db.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="commit the whole sdist, tests too")
    args = parser.parse_args()

    repo = django_repo(full=args.full)
    try:
        files, lines = python_stats(repo)
        print(f"tree: Django sdist, {files} .py files, {lines} lines; {args.runs} runs, medians")
        config = load_defaults()["critic"]
        settings = CriticSettings.from_config(config)
        git = GitRepository(repo)
        root = git.head_sha()
        assert root is not None

        ruff_s, _ = median_time(lambda: ruff_alone(repo, settings), args.runs)
        change_s, change = median_time(lambda: git.changeset(root), args.runs)
        ctx = AgentContext(repo_path=repo, config=config, analyze_all=True)
        agent = CriticAgent()
        critic_s, output = median_time(
            lambda: asyncio.run(agent.analyze(change, ctx)),  # type: ignore[arg-type]
            args.runs,
        )
        found = len(output.findings)  # type: ignore[union-attr]
        in_tests = sum(is_test_path(f.path) for f in output.findings)  # type: ignore[union-attr]
        print(f"ruff check alone (same rules)        {ruff_s * 1000:8.0f} ms")
        print(
            f"critic agent, root commit, --all     {critic_s * 1000:8.0f} ms  "
            f"({found} findings, {in_tests} in test code)"
        )
        print(f"  ratio critic / ruff                {critic_s / ruff_s:8.2f} x  (target <= 3)")
        print(f"change set of the root commit        {change_s * 1000:8.0f} ms")
        both = change_s + critic_s
        print(f"  change set + critic / ruff         {both / ruff_s:8.2f} x")

        sha = make_three_file_commit(repo)
        small_s, small = median_time(lambda: git.changeset(sha), args.runs)
        ctx_small = AgentContext(repo_path=repo, config=config)
        small_critic_s, small_out = median_time(
            lambda: asyncio.run(agent.analyze(small, ctx_small)),  # type: ignore[arg-type]
            args.runs,
        )
        rules = sorted({f.rule for f in small_out.findings})  # type: ignore[union-attr]
        print(f"change set of a 3-file commit        {small_s * 1000:8.1f} ms")
        print(f"critic on the 3-file commit          {small_critic_s * 1000:8.1f} ms  {rules}")

        if (HERE.parent / "tui" / "run_once.py").exists():
            full_s, _ = median_time(lambda: run_once(repo, "--commit", root, "--all"), args.runs)
            print(f"controlroom --run-once --all (root)  {full_s * 1000:8.0f} ms")
            print(f"  ratio run-once --all / ruff        {full_s / ruff_s:8.2f} x  (target <= 3)")
            three_s, _ = median_time(lambda: run_once(repo, "--commit", sha), args.runs)
            print(
                f"controlroom --run-once (3 files)     {three_s * 1000:8.0f} ms  (target <= 1000)"
            )
        git.close()
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
