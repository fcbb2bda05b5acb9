"""Helpers for the sub-agent tests: real `controlroom worker` processes on one store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from controlroom.core.store import Store
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.settings import SubagentSettings

HEARTBEAT = 0.2
FAST = SubagentSettings(
    heartbeat_interval=HEARTBEAT,
    poll_interval=0.01,
    local_capabilities=("probe",),
    assignment_timeout=30.0,
)


def worker_command() -> list[str]:
    """``controlroom worker`` without loading every other subcommand (faster to start)."""
    return [sys.executable, "-m", "controlroom.tui.commands.worker"]


class Workers:
    """Starts worker processes and cleans them up; each one is a real OS process."""

    def __init__(self, repo: Path, db: Path, logs: Path) -> None:
        self.repo, self.db, self.logs = repo, db, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, capabilities: str = "probe", max_concurrent: int = 5) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.procs[name] = subprocess.Popen(
            [
                *worker_command(), "--repo", str(self.repo), "--db", str(self.db),
                "--name", name, "--capabilities", capabilities,
                "--max-concurrent", str(max_concurrent), "--heartbeat", str(HEARTBEAT),
                "--poll-interval", "0.01",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def until(condition, *, timeout: float = 15.0, what: str = "condition"):
    """Poll ``condition`` (async callable) until truthy: the work happens in other processes."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_live(store: Store, names: set[str]) -> None:
    registry = Registry(store)

    async def ready() -> bool:
        live = {s.name for s in await registry.list() if s.status == "live"}
        return names <= live

    await until(ready, what=f"workers {sorted(names)} to register")
