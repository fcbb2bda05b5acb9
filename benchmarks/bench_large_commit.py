"""A release-sized commit: ~500 Python files of Django 5.2 touched at once, every default agent.

The tree is committed first (benchmarks/django_tree.py), then one commit makes a mechanical edit
to ``--files`` .py files (default 500): a comment line at the end of every file and a new small
public function in every ``--function-every``-th file (default 5, so 100 new functions: doc and
test findings to group). Then ``controlroom --run-once --commit HEAD --json`` runs once, cold (a
new store), with the default configuration (the timeout scaled by the change, core/timeouts.py).

Prints each agent's status and duration, the whole command's wall time, the findings and tasks,
whether stderr held a traceback, and the load average (the machine may be shared).
Target: every agent completes, all of them within 15 s on 2 cores.

``--release OLD NEW`` measures a real release commit instead: Django OLD's ``django/`` package
committed, then NEW's (``--release 5.0.8 5.1``: 456 files, 206 .py); with ``--full`` the whole sdist,
tests and docs too (862 files, 438 .py).

Run: python benchmarks/bench_large_commit.py [--files N] [--function-every K] [--runs N]
     python benchmarks/bench_large_commit.py --release 5.0.8 5.1 [--full]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from django_tree import commit_release, django_repo, git

CONTROLROOM = str(Path(sys.executable).with_name("controlroom"))
CPU_SECONDS = 0.0  # CPU seconds of the last run-once's whole process tree


def make_large_commit(repo: Path, files: int, function_every: int) -> tuple[str, int]:
    """Touch ``files`` .py files (sorted order) in one commit; returns (sha, functions added)."""
    paths = sorted(p for p in (repo / "django").rglob("*.py") if p.stat().st_size > 0)[:files]
    added = 0
    for number, path in enumerate(paths):
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
        text += "# Reviewed for the 5.2 release.\n"
        if function_every and number % function_every == 0:
            text += f"\n\ndef release_marker_{number}(value, default=None):\n"
            text += "    if value is None:\n        return default\n    return value\n"
            added += 1
        path.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Release edits across {len(paths)} files")
    return git(repo, "rev-parse", "HEAD"), added


def tree_cpu_seconds(proc: psutil.Popen) -> float:
    """User + system CPU seconds of ``proc`` and every descendant (worker pools included), from
    samples every 0.05 s until it exits: a load-independent measure of the work done."""
    seen: dict[int, float] = {}
    while proc.poll() is None:
        try:
            family = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for item in family:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = item.cpu_times()
                seen[item.pid] = times.user + times.system
        time.sleep(0.05)  # sampling an external process tree (no event to wait on)
    return sum(seen.values())


def run_once(repo: Path, db: Path) -> tuple[dict, float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    argv = [CONTROLROOM, "--run-once", "--commit", "HEAD", "--json", "--db", str(db)]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = psutil.Popen(argv, cwd=repo, env=env, stdout=out, stderr=err)
        cpu = tree_cpu_seconds(proc)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    global CPU_SECONDS
    CPU_SECONDS = cpu
    result = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
    if result.returncode not in (0, 1):
        raise SystemExit(f"run-once failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads(result.stdout), wall, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--function-every", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--release", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--full", action="store_true", help="with --release: the whole sdist")
    args = parser.parse_args()
    repo = django_repo(version=args.release[0] if args.release else None, full=args.full)
    work = Path(tempfile.mkdtemp(prefix="controlroom-bench-large-"))
    try:
        if args.release:
            sha, added = commit_release(repo, args.release[1], full=args.full), 0
        else:
            sha, added = make_large_commit(repo, args.files, args.function_every)
        changed = git(repo, "diff", "--name-only", "HEAD~1", "HEAD").splitlines()
        print(f"commit {sha[:10]}: {len(changed)} files changed, {added} functions added; "
              f"{os.cpu_count()} cores")  # fmt: skip
        for attempt in range(args.runs):
            load = os.getloadavg()
            report, wall, stderr = run_once(repo, work / f"store-{attempt}.db")
            commit = report["commits"][0]
            print(f"run {attempt + 1}: load average before {load[0]:.2f} {load[1]:.2f} "
                  f"{load[2]:.2f}")  # fmt: skip
            for agent in commit["agents"]:
                print(f"  {agent['agent']:<8} {agent['status']:<8} {agent['duration_s']:7.2f} s  "
                      f"{agent['findings']:5d} findings  {agent['error'] or ''}")  # fmt: skip
                phases = (agent.get("metrics") or {}).get("phases")
                if phases:
                    print(
                        "           phases: "
                        + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
                    )
            slowest = max(a["duration_s"] for a in commit["agents"])
            tasks = commit["tasks"]
            print(f"  agents (concurrent, slowest) {slowest:.2f} s; analysis "
                  f"{commit['duration_s']:.2f} s; command wall {wall:.2f} s")  # fmt: skip
            cores = os.cpu_count() or 1
            print(f"  CPU of the whole process tree {CPU_SECONDS:.2f} s: at least "
                  f"{CPU_SECONDS / cores:.2f} s of wall on {cores} idle cores")  # fmt: skip
            print(f"  findings {len(commit['findings'])}; tasks created "
                  f"{len(tasks['created'])}; notes {report['notes']}")  # fmt: skip
            broken = "Traceback" in stderr or "Event loop is closed" in stderr
            print(f"  traceback on stderr: {broken}")
            if broken:
                print(stderr[-3000:])
            print(f"  load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(repo.parent, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
