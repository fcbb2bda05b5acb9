"""The spine's speed on Django 5.2 (885 .py files, 159k lines), as the operator runs it.

Prints, side by side in one run:
- `controlroom --run-once --all --agents critic` (the whole command, a new process) against
  `ruff check` with the same rules alone on the same tree; the target is within 3x;
- `controlroom --run-once --rerun` on a typical 3-file commit: the critic alone (target: 1.0 s
  wall) and all enabled agents; and a plain `--run-once` of that commit once it is analyzed
  (claimed and done: the stored results are reported).

Run: python benchmarks/bench_run_once.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django_tree import django_repo, make_three_file_commit, python_stats

CONTROLROOM = str(Path(sys.executable).with_name("controlroom"))


def timed(argv: list[str], cwd: Path, runs: int, before=None) -> list[float]:
    times = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"{argv} failed ({result.returncode}): {result.stderr[-2000:]}")
    return times


def show(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{label:<58} median {median:7.3f} s  (min {min(times):.3f}, n={len(times)})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo = django_repo()
    work = Path(tempfile.mkdtemp(prefix="controlroom-bench-"))
    try:
        files, lines = python_stats(repo)
        print(f"Django tree: {files} .py files, {lines} lines; {os.cpu_count()} cores")
        from ruff.__main__ import find_ruff_bin

        ruff = [
            find_ruff_bin(), "check", "--isolated", "--no-cache", "--output-format", "json",
            "--select", "S,PERF,T20,B,C901", "--ignore", "S101", "--exit-zero", ".",
        ]  # fmt: skip
        db = work / "state.db"

        def fresh_store() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)

        ruff_t = show("ruff check (same rules), whole tree", timed(ruff, repo, args.runs))
        whole = [
            CONTROLROOM,
            "--run-once",
            "--all",
            "--agents",
            "critic",
            "--quiet",
            "--db",
            str(db),
        ]
        cr_t = show(
            "controlroom --run-once --all --agents critic (new store)",
            timed(whole, repo, args.runs, before=fresh_store),
        )
        print(f"  ratio controlroom / ruff: {cr_t / ruff_t:.2f}x (target: within 3x)")

        make_three_file_commit(repo)
        base = [CONTROLROOM, "--run-once", "--quiet", "--db", str(db)]
        # --rerun: every run analyzes again (without it, runs after the first find the commit
        # claimed and done, and report the stored results: shown last).
        show(
            "controlroom --run-once --rerun, 3-file commit, critic",
            timed([*base, "--rerun", "--agents", "critic"], repo, args.runs),
        )
        show(
            "controlroom --run-once --rerun, 3-file commit, all agents",
            timed([*base, "--rerun"], repo, args.runs),
        )
        show(
            "controlroom --run-once, 3-file commit, already analyzed", timed(base, repo, args.runs)
        )
        print("  target: 1.0 s wall for the spine (critic)")
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
