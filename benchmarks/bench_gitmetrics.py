"""Git metrics: one `git log` subprocess against GitPython per-commit access, on a big repository.

Builds a synthetic repository with git fast-import (default 5,000 commits with side branches and
merges), or measures an existing one with --repo PATH. Prints seconds and ratios.

    python benchmarks/bench_gitmetrics.py [--commits N] [--repo PATH] [--stats-sample N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import git

from controlroom.core.gitmetrics import collect_git_stats, is_conventional, read_log

DAY = 86400


def build_repo(path: Path, commits: int) -> None:
    """A main line with a side branch merged every 25 commits; files change 2 at a time."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    start = int(time.time()) - 60 * DAY
    step = (59 * DAY) // max(1, commits)
    lines: list[str] = []
    main_tip = side_tip = None
    for i in range(commits):
        mark = i + 1
        on_side = i % 25 in (10, 11, 12)
        ref = "refs/heads/side" if on_side else "refs/heads/main"
        subject = f"feat(mod{i % 7}): change {i}" if i % 3 else f"change number {i}"
        message = subject.encode()
        lines.append(f"commit {ref}\nmark :{mark}\n")
        lines.append(f"committer Bench <b@example.invalid> {start + i * step} +0000\n")
        lines.append(f"data {len(message)}\n{subject}\n")
        parent = side_tip if on_side else main_tip
        if parent is None and on_side:
            parent = main_tip
        if parent is not None:
            lines.append(f"from :{parent}\n")
        if not on_side and i % 25 == 13 and side_tip is not None:
            lines.append(f"merge :{side_tip}\n")
        for k in range(2):
            body = f"line {i} {k}\n" * 20
            lines.append(f"M 100644 inline pkg{(i + k) % 40}/file{(i * 7 + k) % 200}.py\n")
            lines.append(f"data {len(body)}\n{body}\n")
        if on_side:
            side_tip = mark
        else:
            main_tip = mark
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input="".join(lines).encode(),
        check=True,
    )
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "main"], check=True)


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def gitpython_per_commit(path: Path, days: float) -> tuple[int, int, int]:
    """What per-commit GitPython code does: walk, then read each commit's fields."""
    repo = git.Repo(path)
    since = time.time() - days * DAY
    commits = merges = conventional = 0
    for commit in repo.iter_commits("--all", since=f"{int(since)}"):
        commits += 1
        if len(commit.parents) > 1:
            merges += 1
        elif is_conventional(commit.message.splitlines()[0] if commit.message else ""):
            conventional += 1
        _ = commit.committed_date, commit.author.name
    repo.close()
    return commits, merges, conventional


def gitpython_stats(path: Path, limit: int) -> int:
    """Per-commit `commit.stats` (one git process each), on the first ``limit`` commits."""
    repo = git.Repo(path)
    count = 0
    for commit in repo.iter_commits("--all", max_count=limit):
        _ = commit.stats.total
        count += 1
    repo.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--repo", type=Path)
    parser.add_argument("--days", type=float, default=90.0)
    parser.add_argument("--stats-sample", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.repo or Path(tmp) / "big"
        if args.repo is None:
            started = time.perf_counter()
            build_repo(path, args.commits)
            print(f"built {args.commits} commits in {time.perf_counter() - started:.1f} s")
        ours_s, stats = timed(lambda: collect_git_stats(path, days=args.days))
        theirs_s, (commits, merges, conventional) = timed(
            lambda: gitpython_per_commit(path, args.days)
        )
        log_s, log = timed(lambda: read_log(path, since=time.time() - args.days * DAY))
        numstat_s = numstat_count = None
        try:
            from controlroom.core.git import GitRepository

            repository = GitRepository(path)
            numstat_s, entries = timed(
                lambda: repository.log_entries(since_days=int(args.days), all_refs=True)
            )
            numstat_count = len(entries)
        except ImportError:
            pass
        stats_s, counted = timed(lambda: gitpython_stats(path, args.stats_sample), repeat=1)
        per_stats_ms = 1000 * stats_s / max(1, counted)
        assert stats.commits == commits and stats.merges == merges, (stats, commits, merges)
        assert stats.conventional_ok == conventional
        print(f"repository: {path if args.repo else 'synthetic'}, cpus {os.cpu_count()}")
        print(
            f"commits {stats.commits}, merges {stats.merges}, "
            f"conventional {stats.conventional_percent:.1f}%"
        )
        print(f"collect_git_stats (1 git log + reflog + refs): {ours_s * 1000:8.1f} ms")
        print(f"  of which read_log (the one git log):         {log_s * 1000:8.1f} ms ({len(log)})")
        if numstat_s is not None:
            print(
                f"GitRepository.log_entries (git log --numstat): {numstat_s * 1000:8.1f} ms "
                f"({numstat_count} entries; {numstat_s / log_s:.1f}x read_log)"
            )
        print(f"GitPython iter_commits + fields per commit:    {theirs_s * 1000:8.1f} ms")
        print(f"  ratio: {theirs_s / ours_s:.1f}x slower")
        print(
            f"GitPython commit.stats per commit: {per_stats_ms:.2f} ms/commit over {counted} "
            f"commits -> {per_stats_ms * stats.commits / 1000:.1f} s for all "
            f"({per_stats_ms * stats.commits / 1000 / ours_s:.0f}x)"
        )


if __name__ == "__main__":
    main()
