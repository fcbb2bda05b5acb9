"""A process that analyzes one commit through the core's AnalysisService with a gated agent.

``python -m tests.unit.engine_claimant REPO DB SIGNALS``: the agent ``counted`` appends this pid to
``SIGNALS/runs``, creates ``SIGNALS/started-<pid>`` and finishes only once ``SIGNALS/go`` exists.
While it waits for another process's claim, the service's wait hook creates
``SIGNALS/waiting-<pid>``. Prints the report's runs as JSON. (An entry-point-free agent injected
through the core API: the test seam for claims across processes.)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from controlroom.core.analysis import AnalysisService
from controlroom.core.config import load_config
from controlroom.core.model import AgentOutput, Finding, Severity
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace


class GatedAgent:
    name = "counted"

    def __init__(self, signals: Path) -> None:
        self.signals = signals

    async def analyze(self, change, ctx) -> AgentOutput:
        pid = os.getpid()
        with (self.signals / "runs").open("a") as runs:
            runs.write(f"{pid}\n")
        (self.signals / f"started-{pid}").touch()
        deadline = time.monotonic() + 120
        while not (self.signals / "go").exists():  # the test process opens the gate
            if time.monotonic() > deadline:
                raise TimeoutError("the gate never opened")
            await asyncio.sleep(0.02)
        finding = Finding(
            agent=self.name, rule="X100", severity=Severity.LOW, path="a.py", line=1,
            message="counted", symbol="f", snippet="def f():",
        )  # fmt: skip
        return AgentOutput(findings=[finding])


async def main(repo: Path, db: Path, signals: Path) -> None:
    config = load_config(repo).with_overrides(
        {"analysis.claim_poll_interval": 0.05, "agents.timeout": 300.0}
    )
    workspace = Workspace(repo, config, db)
    store = await Store.open(db)

    def waiting(sha: str, busy: list[str]) -> None:
        (signals / f"waiting-{os.getpid()}").touch()

    try:
        service = AnalysisService(store, workspace, agents=[GatedAgent(signals)], on_wait=waiting)
        git = ["git", "rev-parse", "HEAD"]
        sha = subprocess.run(git, cwd=repo, capture_output=True, text=True, check=True).stdout
        sha = sha.strip()
        report = await service.analyze(sha)
        runs = [{"agent": r.agent, "where": r.where, "status": r.status.value} for r in report.runs]
        print(json.dumps({"runs": runs, "notes": report.notes}), flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
