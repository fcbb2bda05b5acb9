"""A slow agent on the installed command: cut off by its (scaled) timeout, the other agents'
findings kept and counted by --fail-on, the report says so, and no traceback and no orphan child.

The slow agent is a real plugin: a package on PYTHONPATH registering an entry point in the
``controlroom.agents`` group, which starts a child process and waits for it (the shape of an
agent that runs a tool), never cleaning up when cancelled.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.e2e.cli import run_json

PLUGIN = """import asyncio
from pathlib import Path

from controlroom.core.model import AgentOutput


class SlowAgent:
    name = "slow"

    async def analyze(self, change, ctx):
        proc = await asyncio.create_subprocess_exec(
            "sleep", "300", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        Path(ctx.repo_path, ".slow-child").write_text(str(proc.pid))
        await proc.communicate()
        return AgentOutput()
"""
SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    info = site / "slowagent-0.dist-info"
    info.mkdir(parents=True)
    (site / "slowagent.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slowagent\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[controlroom.agents]\nslow = slowagent:SlowAgent\n")
    return site


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_slow_agent_is_cut_off_and_the_others_findings_fail_the_run(repo, tmp_path):
    repo.commit({"app.py": SHELL}, "shell")
    config = tmp_path / "controlroom.toml"
    config.write_text("[agents]\ntimeout = 1.0\ntimeout_per_file = 0.5\ntimeout_max = 3.0\n")
    report, result = run_json(
        "--run-once", "--agents", "critic,slow", "--fail-on", "high", "--config", str(config),
        cwd=repo.path, PYTHONPATH=str(plugin_path(tmp_path)),
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "Event loop is closed" not in result.stderr
    assert result.returncode == 1, result.stderr  # the critic's S602 is kept and counted
    runs = {a["agent"]: a for a in report["commits"][0]["agents"]}
    assert runs["critic"]["status"] == "ok" and runs["critic"]["findings"] >= 1
    assert runs["slow"]["status"] == "timeout"
    assert runs["slow"]["error"] == "timed out after 1.5 s"  # 1.0 + 0.5 x 1 changed file
    assert report["totals"]["agents_timed_out"] == 1
    (note,) = [n for n in report["notes"] if "'slow'" in n]
    assert "timed out after 1.5 s" in note and "findings are missing" in note
    pid = int((repo.path / ".slow-child").read_text())
    deadline = time.monotonic() + 10  # the child is killed before the command exits
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    still = alive(pid)
    if still:
        os.kill(pid, 9)
    assert not still  # old code: `sleep 300` left running, orphaned
