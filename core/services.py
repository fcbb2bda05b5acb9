"""The side services the runtime starts next to the commit watcher, built from the config."""

from __future__ import annotations

from typing import Any

from controlroom.core.events import EventBus
from controlroom.core.runtime import Runtime, Service
from controlroom.core.store import Store
from controlroom.core.timeouts import scaled
from controlroom.core.workspace import Workspace


def build_services(workspace: Workspace, store: Store, bus: EventBus) -> list[Service]:
    """SLA checks and the metrics sampler for the correlator."""
    from controlroom.core.correlator.service import CorrelatorService
    from controlroom.core.sla.scheduler import SlaService

    config = workspace.config
    return [
        SlaService(store, config, base_dir=workspace.repo_path, bus=bus),
        CorrelatorService(store, config, bus=bus),
    ]


def create_runtime(
    workspace: Workspace, store: Store, *, with_services: bool = True, **kwargs: Any
) -> Runtime:
    """The runtime the TUI starts: agent runs go through the sub-agent executor (live workers
    with the capability, else locally, recorded as "local"), and the side services run next to
    it: SLA checks, the metrics sampler, and idle-time hobby sweeps whose findings converge
    into the queue like any agent's."""
    from controlroom.core.subagents.backends import build_executor
    from controlroom.core.subagents.executor import agent_runner
    from controlroom.core.subagents.hobbies import HobbyService
    from controlroom.core.subagents.settings import HobbySettings

    config = workspace.config
    bus = kwargs.pop("bus", None) or EventBus()
    executor = build_executor(store, workspace)  # [subagents] backend: local, store or celery
    kwargs.setdefault("runner", agent_runner(executor, timeout=scaled(config)))
    runtime = Runtime(workspace, store, bus=bus, **kwargs)
    runtime.closers.append(executor.close)
    if with_services:
        runtime.services.extend(build_services(workspace, store, bus))
        if hasattr(executor, "celery"):  # keep the Celery workers' rows current for the pane
            from controlroom.core.subagents.celery_monitor import CeleryMonitor

            runtime.services.append(CeleryMonitor(executor))

        async def sink(hobby: str, sha: str, run: Any) -> None:
            result = await runtime.analysis.record_sweep(sha, run)
            if result.created or result.updated:
                bus.publish("tasks.changed", source=hobby)

        runtime.services.append(
            HobbyService(
                store,
                executor=executor,
                head=runtime.repo.head_sha,
                is_idle=runtime.is_idle,
                sink=sink,
                settings=HobbySettings.from_config(config),
            )
        )
    return runtime
