"""A Celery worker: ``controlroom worker --backend celery`` (tui/commands/worker.py).

It consumes one queue per capability it offers (plus ``probe``), ``max_concurrent`` units at once
(prefork children), one unit fetched ahead at most. Each unit is the JSON payload of a
``WorkUnit``; the worker carries it out in its own cache clone of the repository (fetched at the
unit's commit, core/subagents/clones.py) with its own small store for agent caches, and returns
the result as JSON. It never writes the coordinator's store. Killed with its machine, its
unacknowledged unit goes back to the queue after Redis's ``visibility_timeout``; a child killed
alone is reported by Celery at once and the unit is re-queued (``task_reject_on_worker_lost``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlroom.core.errors import ControlroomError
from controlroom.core.secrets import redact
from controlroom.core.store import Store
from controlroom.core.subagents.celery_app import broker_problem, make_app
from controlroom.core.subagents.celery_settings import TASK_NAME, CelerySettings
from controlroom.core.subagents.clones import CacheClone
from controlroom.core.subagents.handlers import UnitHandler
from controlroom.core.subagents.settings import PROBE
from controlroom.core.subagents.units import WorkUnit
from controlroom.core.workspace import Workspace, resolve_workspace


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/controlroom/workers`` (default ``~/.cache/controlroom/workers``)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "controlroom" / "workers"


def worker_hostname(name: str | None) -> str:
    """Celery's node name: ``NAME@HOST`` (default ``controlroom-PID@HOST``)."""
    name = name or f"controlroom-{os.getpid()}"
    return name if "@" in name else f"{name}@{socket.gethostname()}"


@dataclass(slots=True)
class WorkerPlan:
    """Everything a Celery worker process needs, built before it starts (children inherit it)."""

    hostname: str
    queues: list[str]
    concurrency: int
    clone: CacheClone
    store_path: Path
    config_file: Path | None = None
    _pid: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _store: Store | None = None
    _workspace: Workspace | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"done": 0, "failed": 0})

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = resolve_workspace(self.clone.path, self.store_path, self.config_file)
        return self._workspace

    def _loop_here(self) -> asyncio.AbstractEventLoop:
        """One event loop (and store connection) per process: prefork children get their own."""
        if self._pid != os.getpid() or self._loop is None:
            self._pid, self._loop, self._store = os.getpid(), asyncio.new_event_loop(), None
        return self._loop

    def run(self, payload: dict[str, Any], *, redelivered: bool) -> dict[str, Any]:
        started, started_at = time.perf_counter(), time.time()
        outcome = self._loop_here().run_until_complete(self._run(WorkUnit(payload)))
        self.counts["done" if outcome.ok else "failed"] += 1
        return {
            "ok": outcome.ok,
            "result": outcome.result,
            "error": redact(outcome.error),
            "where": self.hostname,
            "duration_s": time.perf_counter() - started,
            "started_at": started_at,  # the worker's clock: dispatch latency in benchmarks
            "redelivered": redelivered,
            "pid": os.getpid(),
        }

    async def _run(self, unit: WorkUnit) -> Any:
        from controlroom.core.subagents.handlers import Outcome

        if unit.kind in ("agent", "hobby"):
            try:
                await asyncio.to_thread(self.clone.ensure, str(unit.payload["commit"]))
            except Exception as exc:
                return Outcome(False, None, f"{type(exc).__name__}: {exc}")
        if self._store is None:
            self._store = await Store.open(self.store_path)
        handler = UnitHandler(
            self._store, self.workspace(), where=self.hostname, coordinator_store=False
        )
        return await handler.execute_unit(unit)


_PLAN: WorkerPlan | None = None


def register_task(app: Any) -> Any:
    """The one task: carry out a unit's JSON payload with the process's plan."""

    # Celery ships no types: its decorator is untyped.
    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def unit(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
        assert _PLAN is not None, "the worker was not prepared (run_celery_worker)"
        delivery = self.request.delivery_info or {}
        return _PLAN.run(payload, redelivered=bool(delivery.get("redelivered")))

    return unit


def prepare(
    settings: CelerySettings,
    *,
    repo: Path,
    name: str | None,
    capabilities: tuple[str, ...],
    concurrency: int,
    config_file: Path | None = None,
) -> WorkerPlan:
    """Clone (or reuse) the worker's cache clone and migrate its cache store, before forking."""
    hostname = worker_hostname(name)
    root = Path(settings.cache_dir).expanduser() if settings.cache_dir else default_cache_dir()
    home = root / hostname.replace("/", "_")
    clone = CacheClone(settings.remote or str(repo), home / "repo")
    clone.ready()
    store_path = home / "cache.sqlite"

    async def migrate() -> None:
        store = await Store.open(store_path)
        await store.close()

    asyncio.run(migrate())
    queues = [settings.queue(c) for c in dict.fromkeys((*capabilities, PROBE))]
    plan = WorkerPlan(hostname, queues, concurrency, clone, store_path, config_file)
    plan.workspace()  # read the config once, and
    _preload(capabilities)  # import the agents once: every prefork child inherits both
    return plan


def _preload(capabilities: tuple[str, ...]) -> None:
    """Import the agents (and hobbies) this worker serves before it forks its children."""
    from controlroom.core.plugins import load_agents, load_plugin

    load_agents([c for c in capabilities if c not in ("hobby", PROBE)])
    if "hobby" in capabilities:
        from importlib.metadata import entry_points

        from controlroom.core.subagents.handlers import HOBBY_GROUP

        for entry in entry_points(group=HOBBY_GROUP):
            try:
                load_plugin(HOBBY_GROUP, entry.name)
            except Exception:  # a broken hobby fails its own units, with the reason
                continue


def run_celery_worker(
    settings: CelerySettings, plan: WorkerPlan, *, loglevel: str = "INFO"
) -> None:
    """Start a real Celery worker in this process; returns when it stops (TERM: warm shutdown)."""
    global _PLAN
    _PLAN = plan
    app = make_app(settings)
    problem = broker_problem(app, settings.connect_timeout)
    if problem is not None:  # say so in one line rather than Celery's retries and traceback
        raise ControlroomError(f"broker {settings.shown_broker} unreachable: {redact(problem)}")
    register_task(app)
    app.worker_main(
        [
            "worker",
            f"--hostname={plan.hostname}",
            f"--queues={','.join(plan.queues)}",
            f"--concurrency={plan.concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
        ]
    )
