"""Hostile repository code under the tests agent: the user's tree and this process stay unharmed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.agents.testgen.sandbox import MARKER, Limits, run_sandboxed
from controlroom.core.git import GitRepository
from controlroom.core.model import AgentContext

HOSTILE = """\
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

USER_TREE = Path({tree!r})


def scribble(n: int) -> int:
    (USER_TREE / "keep.py").write_text("overwritten")
    (USER_TREE / "pwned.txt").write_text("x")
    return n


def spin(n: int) -> int:
    while True:
        n += 1


def vanish(n: int) -> int:
    os._exit(0)


def leave(n: int) -> int:
    sys.exit(3)


def signal_parent(n: int) -> int:
    os.kill({parent}, signal.SIGUSR1)
    return n


def spawn(n: int) -> int:
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    return n
"""
BOOM = """\
from pathlib import Path

Path({tree!r}, "import_pwned.txt").write_text("x")


def twice(n: int) -> int:
    return 2 * n
"""


def _long_lived_helper(proc: psutil.Process) -> bool:
    """GitPython's ``git cat-file`` helpers and the impact agent's forkserver pool outlive a test."""
    try:
        return proc.name() == "git" or any("multiprocessing" in part for part in proc.cmdline())
    except psutil.Error:
        return True  # already gone


def our_children() -> list[psutil.Process]:
    """Children of this process that a sandboxed run could have left behind."""
    return [p for p in psutil.Process().children(recursive=True) if not _long_lived_helper(p)]


_ROOT: list[Path] = []  # this test's tmp_path: sandboxed runs of other test sessions are not ours


@pytest.fixture(autouse=True)
def _temporary_files_under_tmp_path(tmp_path: Path, monkeypatch):
    """Worktrees (``tempfile.mkdtemp``) go under ``tmp_path``, so our runs' processes are known
    by their working directory (the machine may run other sessions' sandboxes meanwhile)."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    _ROOT[:] = [tmp_path]
    yield
    _ROOT.clear()


def marked_processes() -> list[psutil.Process]:
    """Live processes of this test's sandboxed runs (the marker, a working directory inside)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if MARKER in proc.environ() and any(str(root) in proc.cwd() for root in _ROOT):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []  # it ended in the meantime


@pytest.mark.slow
async def test_hostile_functions_do_not_harm_the_tree_or_this_process(repo) -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))
    tree = str(repo.path.resolve())
    try:
        repo.commit({"keep.py": "KEEP = 1\n"}, "start")
        sha = repo.commit(
            {
                "hostile.py": HOSTILE.format(tree=tree, parent=os.getpid()),
                "boom.py": BOOM.format(tree=tree),
            },
            "hostile code",
        )
        git = GitRepository(repo.path)
        ctx = AgentContext(
            repo_path=repo.path,
            # 12 s: each child computes Hypothesis's unicode tables, about 5 s on a loaded machine
            config={"timeout": 12.0, "concurrency": 4, "max_examples": 5},
            worktree_factory=git.worktree,
        )
        output = await TestGeneratorAgent().analyze(git.changeset(sha), ctx)
    finally:
        signal.signal(signal.SIGUSR1, previous)

    assert repo.git("status", "--porcelain") == ""
    assert (repo.path / "keep.py").read_text() == "KEEP = 1\n"
    assert not (repo.path / "pwned.txt").exists()
    assert not (repo.path / "import_pwned.txt").exists()
    assert marked_processes() == []
    assert our_children() == []

    found = {f.symbol: f for f in output.findings}
    status = {name: (f.extra["validation"] or {}).get("status") for name, f in found.items()}
    assert status["spin"] == "timed out", found["spin"].extra["not_offered"]
    assert status["vanish"] == "errored"  # os._exit(0): no report, so not "passed"
    assert "did not finish" in found["vanish"].extra["not_offered"]
    assert status["leave"] != "passed"
    assert status["scribble"] == "failed"  # the write was refused: reported as a possible bug
    scribbled = found["scribble"].extra["validation"]["output"]
    assert "PermissionError" in scribbled or "FileNotFoundError" in scribbled  # not even there
    assert found["twice"].extra["not_offered"].startswith("importing boom failed")
    for name in ("spin", "vanish", "leave", "scribble"):
        assert found[name].suggested_fix is None
    confinement = found["spin"].extra["validation"]["confinement"]
    abi = re.search(r"landlock abi (\d+)", confinement)
    if confinement.startswith("bubblewrap") or (abi and int(abi.group(1)) >= 6):
        assert received == []  # bubblewrap: our pid is not even in its PID namespace
        assert status["signal_parent"] == "failed"


async def test_sandbox_env_is_clean_and_writes_stay_inside(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-for-children")
    inside, outside = tmp_path / "tree", tmp_path / "user"
    inside.mkdir()
    outside.mkdir()
    script = (
        "import os, pathlib\n"
        "print('KEY', os.environ.get('ANTHROPIC_API_KEY'))\n"
        "print('HOME', os.environ['HOME'])\n"
        f"pathlib.Path({str(inside)!r}, 'ok.txt').write_text('fine')\n"
        f"pathlib.Path({str(outside)!r}, 'bad.txt').write_text('harm')\n"
    )
    result = await run_sandboxed(
        inside / "box",
        mode="exec",
        writable=[inside],
        limits=Limits(timeout=20.0),
        python_path=[],
        cwd=inside,
        argv=[sys.executable, "-c", script],
    )
    assert "KEY None" in result.output
    home = "/tmp/home" if result.confinement.startswith("bubblewrap") else inside / "box" / "home"
    assert f"HOME {home}" in result.output
    assert (inside / "ok.txt").read_text() == "fine"
    if "landlock abi" in result.confinement:
        assert not (outside / "bad.txt").exists()
        refused = "PermissionError" in result.output or "FileNotFoundError" in result.output
        assert refused and result.returncode == 1


async def test_sandbox_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    script = (
        "import subprocess, time\n"
        "subprocess.Popen(['sleep', '300'])\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n"
    )
    result = await run_sandboxed(
        tmp_path / "box",
        mode="exec",
        writable=[tmp_path],
        limits=Limits(timeout=1.5),
        python_path=[],
        cwd=tmp_path,
        argv=[sys.executable, "-c", script],
    )
    assert result.timed_out and result.returncode is None
    assert "started" in result.output
    assert marked_processes() == []
    assert our_children() == []


async def test_cancelled_agent_leaves_no_process_or_worktree(repo) -> None:
    sha = repo.commit({"spin.py": "def spin(n: int) -> int:\n    while True:\n        n += 1\n"})
    git = GitRepository(repo.path)
    ctx = AgentContext(repo_path=repo.path, config={"timeout": 60.0}, worktree_factory=git.worktree)
    task = asyncio.ensure_future(TestGeneratorAgent().analyze(git.changeset(sha), ctx))
    deadline = asyncio.get_running_loop().time() + 30
    # Wait (the work is in another process) until the generated test runs under pytest.
    while not any("pytest" in _cmdline(p) for p in marked_processes()):
        assert asyncio.get_running_loop().time() < deadline and not task.done()
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert marked_processes() == [] and our_children() == []
    assert len(repo.git("worktree", "list").splitlines()) == 1
    assert repo.git("status", "--porcelain") == ""
