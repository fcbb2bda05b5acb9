"""Claims on (commit, agent) across real processes sharing one store: one run, takeover, skip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controlroom.core.analysis import AnalysisService
from controlroom.core.config import load_config
from controlroom.core.runtime import Runtime
from controlroom.core.workspace import Workspace
from tests.unit.spine_helpers import ScriptedAgent

ROOT = Path(__file__).resolve().parents[2]


def claimant(repo: Path, db: Path, signals: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.engine_claimant", str(repo), str(db), str(signals)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll for a file another process creates (with a deadline; fails early if it exited)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} never appeared")
        time.sleep(0.02)


def agent_runs(db: Path, sha: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM agent_runs WHERE commit_sha = ? AND agent = 'counted'", (sha,)
        ).fetchone()[0]


@pytest.fixture
def setup(repo, tmp_path):
    sha = repo.commit({"a.py": "def f():\n    return 1\n"}, "one")
    signals = tmp_path / "signals"
    signals.mkdir()
    return repo.path, tmp_path / "state.db", signals, sha


def test_two_processes_on_one_new_commit_run_each_agent_once(setup):
    repo, db, signals, sha = setup
    first = claimant(repo, db, signals)
    wait_for(signals / f"started-{first.pid}", first)
    second = claimant(repo, db, signals)
    wait_for(signals / f"waiting-{second.pid}", second)  # it found the claim and waits
    (signals / "go").touch()
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert (signals / "runs").read_text().split() == [str(first.pid)]  # the agent ran once
    assert json.loads(out1)["runs"][0]["where"] == "local"
    waited = json.loads(out2)
    assert waited["runs"][0]["where"] == "stored"  # the second reported the first's results
    assert any("already analyzed" in note for note in waited["notes"])
    assert agent_runs(db, sha) == 1


def test_a_killed_claimant_is_taken_over_and_the_analysis_completes(setup):
    repo, db, signals, sha = setup
    doomed = claimant(repo, db, signals)
    wait_for(signals / f"started-{doomed.pid}", doomed)
    os.kill(doomed.pid, signal.SIGKILL)  # holds the claim, lease still running
    doomed.wait(timeout=30)
    doomed.stdout.close()
    doomed.stderr.close()
    (signals / "go").touch()
    heir = claimant(repo, db, signals)
    out, err = heir.communicate(timeout=120)
    assert heir.returncode == 0, err
    report = json.loads(out)
    assert report["runs"] == [{"agent": "counted", "where": "local", "status": "ok"}]
    assert any("took over counted" in note for note in report["notes"])
    assert (signals / "runs").read_text().split() == [str(doomed.pid), str(heir.pid)]
    assert agent_runs(db, sha) == 1


async def test_runtime_skips_what_run_once_analyzed_and_rerun_is_explicit(repo, store, tmp_path):
    """The runtime and an explicit analysis in one process: the runtime's automatic look skips a
    (commit, agent) already done; ``rerun=True`` analyzes again."""
    repo.commit({"a.py": "x = eval(y)\n"}, "one")
    config = load_config(repo.path).with_overrides({"runtime.poll_interval": 0.05})
    workspace = Workspace(repo.path, config, tmp_path / "state.db")
    calls: list[str] = []

    class Counting(ScriptedAgent):
        async def analyze(self, change, ctx):
            calls.append(change.commit)
            return await super().analyze(change, ctx)

    agent = Counting("critic", "eval(", "S307")
    runtime = Runtime(workspace, store, agents=[agent])
    try:
        await runtime.check_now()  # the TUI is open: it analyzes the first commit
        two = repo.commit({"b.py": "z = eval(w)\n"}, "two")
        service = AnalysisService(store, workspace, agents=[agent])
        await service.analyze(two)  # the post-commit hook's run-once got there first
        assert await runtime.check_now() == []  # the runtime's look skips it
    finally:
        runtime.repo.close()
    assert calls.count(two) == 1
    await service.analyze(two, rerun=True)
    assert calls.count(two) == 2
