"""``controlroom apply`` on the command line: a user's branch of the task's name is never moved, and
the worktree of a killed apply is removed by the next command that uses worktrees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.cli import cli_env, run

SOURCE = "def double(n: int) -> int:\n    return n * 2\n"

BLOCKING_APPLY = '''\
"""Seed one approved task of a blocking fixer, then apply it: the fix never ends."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from controlroom.core.apply import apply_task
from controlroom.core.config import load_config
from controlroom.core.model import AgentOutput, Finding, Severity, TaskState
from controlroom.core.pipeline import analyze_commit
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace


class Blocker:
    name = "blocker"

    async def analyze(self, change, ctx):
        path = change.python_files()[0].path
        finding = Finding("blocker", "BLOCK001", Severity.HIGH, path, 1, "block", confidence=0.9)
        return AgentOutput(findings=[finding])

    async def apply_fix(self, task, findings, tree, config):
        ready = Path(sys.argv[3])
        ready.with_suffix(".tmp").write_text(str(tree))
        os.replace(ready.with_suffix(".tmp"), ready)
        await asyncio.Event().wait()


async def main() -> None:
    repo, db = Path(sys.argv[1]), Path(sys.argv[2])
    workspace = Workspace(repo, load_config(repo), db)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    store = await Store.open(db)
    await analyze_commit(store, workspace, head, [Blocker()])
    queue = TaskQueue(store)
    task = next(t for t in await queue.list() if t.rule == "BLOCK001")
    await queue.decide(task.id, TaskState.APPROVED)
    await apply_task(store, workspace, task.id, agents=[Blocker()])


asyncio.run(main())
'''


def worktrees(repo) -> list[str]:
    listed = repo.git("worktree", "list", "--porcelain").splitlines()
    return [line.removeprefix("worktree ") for line in listed if line.startswith("worktree ")]


def wait_for_file(path: Path, proc: subprocess.Popen, deadline: float = 60.0) -> str:
    """The file's text once the external process wrote it (polling, bounded)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if path.exists():
            return path.read_text()
        if proc.poll() is not None:
            raise AssertionError(f"the apply process ended first: {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {deadline} s")


def test_a_user_branch_of_the_task_name_is_not_moved_and_apply_says_why(repo) -> None:
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    repo.commit({"calc.py": SOURCE}, "calc")
    where = ("--repo", str(repo.path), "--db", str(repo.path.parent / "state.db"))
    assert run("--run-once", "--agents", "docs", "--quiet", *where).returncode == 0
    tasks = [json.loads(line) for line in run("tasks", "--json", *where).stdout.splitlines()]
    doc = next(t for t in tasks if t["rule"] == "DOC100")
    assert run("decide", str(doc["id"]), "approve", *where).returncode == 0
    branch = f"controlroom/task-{doc['id']}"
    repo.git("branch", branch, "HEAD~1")  # the user's, made before apply
    before = repo.git("rev-parse", branch)

    result = run("apply", str(doc["id"]), *where)

    assert repo.git("rev-parse", branch) == before
    assert result.returncode == 1, result.stderr
    assert result.stdout == (
        f"task {doc['id']}: failed: branch {branch} exists ({before[:12]}) and controlroom did "
        "not make it: not moved; rename or delete it, then approve the task again\n"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "next_command",
    [("apply", "--approved"), ("--run-once", "--agents", "docs", "--quiet")],
    ids=["apply", "run-once"],
)
def test_the_worktree_of_a_killed_apply_is_removed_by_the_next_command(
    repo, tmp_path, next_command
) -> None:
    repo.commit({"calc.py": SOURCE}, "calc")
    db, ready, temp = tmp_path / "state.db", tmp_path / "ready", tmp_path / "tmp"
    temp.mkdir()
    script = tmp_path / "blocking_apply.py"
    script.write_text(BLOCKING_APPLY)
    where = ("--repo", str(repo.path), "--db", str(db))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(repo.path), str(db), str(ready)],
        env=cli_env(TMPDIR=str(temp)),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        tree = wait_for_file(ready, proc)
        assert tree in worktrees(repo)
        # A live apply's worktree is left alone by another command.
        assert run(*next_command, *where).returncode in (0, 1)
        assert tree in worktrees(repo) and Path(tree).is_dir()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert tree in worktrees(repo)  # what kill -9 leaves behind

    result = run(*next_command, *where)

    assert result.returncode in (0, 1), result.stderr
    assert worktrees(repo) == [str(repo.path)]
    assert not Path(tree).parent.exists()
