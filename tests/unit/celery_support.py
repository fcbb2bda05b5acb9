"""Helpers for the Celery tests: the real Redis on 127.0.0.1 (db 7, flushed before and after),
real ``controlroom worker --backend celery`` processes, and a slow agent installed as a plug-in.

The tests skip, saying why, only when no Redis server answers at ``REDIS_URL``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from controlroom.core.subagents.celery_app import live_queues, make_app
from controlroom.core.subagents.celery_settings import CelerySettings

# One Redis database per pytest-xdist worker (gw0: 7, gw1: 8, ...): each test flushes its own.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("CONTROLROOM_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{7 + _WORKER}")
UNIT_TIME_LIMIT = 8.0
VISIBILITY = 10.0  # a unit lost with its worker is handed out again after this many seconds


def redis_problem() -> str | None:
    """None when Redis answers at REDIS_URL, else the reason the tests skip."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        return f"Redis is not reachable at {REDIS_URL}: {exc}"
    return None


def flush() -> None:
    """Empty this worker's test database (REDIS_URL's; never the others)."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def config_text(*, local: str = '["probe"]', agents: str = '["slow"]', extra: str = "") -> str:
    return textwrap.dedent(
        f"""
        [agents]
        enabled = {agents}
        [subagents]
        backend = "celery"
        broker_url = "{REDIS_URL}"
        unit_time_limit = {UNIT_TIME_LIMIT}
        visibility_timeout = {VISIBILITY}
        liveness_timeout = 0.5
        liveness_ttl = 0.5
        connect_timeout = 1.0
        local_capabilities = {local}
        """
    ) + textwrap.dedent(extra)


def settings() -> CelerySettings:
    return CelerySettings(
        broker_url=REDIS_URL,
        unit_time_limit=UNIT_TIME_LIMIT,
        visibility_timeout=VISIBILITY,
        liveness_timeout=0.5,
        liveness_ttl=0.5,
        connect_timeout=1.0,
    )


SLOW_AGENT = '''
"""A plug-in agent for the Celery tests: holds SLOW_AGENT_HOLD seconds, then one finding per file."""
import asyncio
import os

from controlroom.core.model import AgentOutput, Finding, Severity


class SlowAgent:
    name = "slow"

    async def analyze(self, change, ctx):
        await asyncio.sleep(float(os.environ.get("SLOW_AGENT_HOLD", "0")))
        findings = [
            Finding(agent="slow", rule="SLOW001", severity=Severity.LOW, path=f.path, line=1,
                    message=f"slow looked at {f.path}", snippet="x", confidence=0.9)
            for f in change.files
        ]
        return AgentOutput(findings, {"pid": os.getpid()})
'''


def install_slow_agent(root: Path) -> Path:
    """A directory to put on PYTHONPATH: the module and its entry point (group controlroom.agents)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cr_slow_agent.py").write_text(SLOW_AGENT, encoding="utf-8")
    info = root / "cr_slow_agent-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cr-slow-agent\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[controlroom.agents]\nslow = cr_slow_agent:SlowAgent\n")
    return root


class CeleryWorkers:
    """Real Celery worker processes (each in its own session, so kill -9 takes the whole
    worker: main process and prefork children, as when its machine dies)."""

    def __init__(self, repo: Path, config: Path, tmp: Path, plugins: Path | None = None) -> None:
        self.repo, self.config, self.tmp, self.plugins = repo, config, tmp, plugins
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.app = make_app(settings())

    def start(
        self, name: str, capabilities: str, *, concurrency: int = 5, hold: float = 0.0
    ) -> str:
        """Start ``name`` and wait until it consumes its queues; returns its Celery hostname."""
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SLOW_AGENT_HOLD": str(hold)}
        if self.plugins is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(self.plugins), env.get("PYTHONPATH", "")) if p
            )
        self.procs[name] = subprocess.Popen(
            [
                sys.executable, "-m", "controlroom.tui.commands.worker", "--backend", "celery",
                "--repo", str(self.repo), "--config", str(self.config), "--name", name,
                "--capabilities", capabilities, "--max-concurrent", str(concurrency),
                "--cache-dir", str(self.tmp / "cache"), "--loglevel", "INFO",
            ],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        hostname = f"{name}@{os.uname().nodename}"
        self.wait_live(hostname, name)
        return hostname

    def wait_live(self, hostname: str, name: str, timeout: float = 60.0) -> None:
        """Poll Celery's own inspection until the worker answers (or its process ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise AssertionError(f"worker {name} exited:\n{self.log(name)}")
            consumers = live_queues(self.app, 0.3)
            if any(hostname in workers for workers in consumers.values()):
                return
        raise AssertionError(f"worker {name} did not come up:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.app.close()
