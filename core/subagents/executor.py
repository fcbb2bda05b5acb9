"""THE executor boundary: the one place the core hands a unit of work to someone to carry out.

``Executor`` is what the runtime, the pipeline (through :func:`agent_runner`) and the hobby
scheduler use. :class:`StoreExecutor` routes units to worker processes through the store's
``assignments`` table, runs them locally when no live sub-agent offers the capability (recorded as
"local"), and fails at once when nobody could ever take them and local runs are not allowed.
:class:`core.subagents.celery_executor.CeleryExecutor` implements the same methods over Celery
(one queue per capability); :func:`core.subagents.backends.build_executor` picks one from
``[subagents] backend``. Nothing in the TUI or the agents changes. See docs/subagents.md and
docs/distributed.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from controlroom.core.model import Agent, AgentContext, AgentRun, ChangeSet, RunStatus
from controlroom.core.serialize import run_from_dict
from controlroom.core.store import Store
from controlroom.core.subagents.assignments import AssignmentBoard
from controlroom.core.subagents.handlers import Outcome, UnitHandler
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.subagents.units import LOCAL, Assignment, UnitResult, WorkUnit
from controlroom.core.timeouts import Timeout, timeout_for
from controlroom.core.workspace import Workspace

LocalWork = Callable[[], Awaitable[Outcome]]
PRUNE_EVERY = 60.0  # seconds: finished rows are deleted at most this often (see prune_due)


class Executor(Protocol):
    """Submit a unit of work, await its result. ``local`` runs it in this process if chosen."""

    async def submit(
        self, unit: WorkUnit, *, local: LocalWork | None = None
    ) -> asyncio.Future[UnitResult]: ...

    async def run(self, unit: WorkUnit, *, local: LocalWork | None = None) -> UnitResult: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Waiting:
    future: asyncio.Future[UnitResult]
    unit: WorkUnit
    local: LocalWork | None
    deadline: float


class StoreExecutor:
    """Routes units through the store to worker processes, with local fallback and fail-fast."""

    def __init__(
        self,
        store: Store,
        *,
        workspace: Workspace | None = None,
        settings: SubagentSettings | None = None,
        handler: UnitHandler | None = None,
        clock: Callable[[], float] = time.time,
        route: bool = True,
    ) -> None:
        self.store = store
        self.route = route  # False: the "local" backend, every unit runs in this process
        self.settings = settings or SubagentSettings()
        # Runs units locally when no ``local`` callable is given.
        self.handler = handler or UnitHandler(store, workspace, where=LOCAL)
        self.clock = clock
        misses = self.settings.missed_heartbeats
        self.board = AssignmentBoard(store, missed_heartbeats=misses, clock=clock)
        self.registry = Registry(store, missed_heartbeats=misses, clock=clock)
        self._waiting: dict[int, _Waiting] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._local_tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._next_prune = 0.0

    def local_allowed(self, unit: WorkUnit) -> bool:
        return unit.capability in self.settings.local_capabilities

    async def submit(
        self, unit: WorkUnit, *, local: LocalWork | None = None
    ) -> asyncio.Future[UnitResult]:
        future: asyncio.Future[UnitResult] = asyncio.get_running_loop().create_future()
        await self.prune_due()
        row, decision = await self.board.submit(
            unit, local_allowed=self.local_allowed(unit), route=self.route
        )
        if decision == "impossible":
            future.set_result(UnitResult(row.id, False, "none", 0.0, None, row.error))
        elif decision == "local":
            self._start_local(row, unit, local, future)
        else:
            deadline = self.clock() + self.settings.assignment_timeout
            self._waiting[row.id] = _Waiting(future, unit, local, deadline)
            self._ensure_watcher()
            self._wake.set()
        return future

    async def run(self, unit: WorkUnit, *, local: LocalWork | None = None) -> UnitResult:
        return await (await self.submit(unit, local=local))

    async def prune_due(self) -> int:
        """Delete finished rows older than ``assignment_retention_hours``, at most once every
        ``PRUNE_EVERY`` seconds (called on submit, so a busy store never grows without end)."""
        now = self.clock()
        if now < self._next_prune:
            return 0
        self._next_prune = now + PRUNE_EVERY
        return await self.board.prune(now - self.settings.assignment_retention_hours * 3600)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for task in list(self._local_tasks):
            task.cancel()
        for waiting in self._waiting.values():
            if not waiting.future.done():
                waiting.future.cancel()
        self._waiting.clear()

    # -- local runs ---------------------------------------------------------------------------
    def _start_local(
        self,
        row: Assignment,
        unit: WorkUnit,
        local: LocalWork | None,
        future: asyncio.Future[UnitResult],
    ) -> None:
        task = asyncio.create_task(self._run_local(row, local, future))
        self._local_tasks.add(task)
        task.add_done_callback(self._local_tasks.discard)

    async def _run_local(
        self, row: Assignment, local: LocalWork | None, future: asyncio.Future[UnitResult]
    ) -> None:
        started = time.perf_counter()
        try:
            if local is not None:
                outcome = await local()
            else:
                outcome = await self.handler.execute(row)
        except asyncio.CancelledError:
            await self.board.finish(row.id, row.lease, ok=False, error="cancelled")
            raise
        except Exception as exc:
            outcome = Outcome(False, None, f"{type(exc).__name__}: {exc}")
        duration = time.perf_counter() - started
        # The result stays in memory: the row only records that (and how long) it ran here.
        await self.board.finish(
            row.id, row.lease, ok=outcome.ok, error=outcome.error, duration_s=duration
        )
        if not future.done():
            future.set_result(
                UnitResult(
                    row.id,
                    outcome.ok,
                    LOCAL,
                    duration,
                    outcome.result,
                    outcome.error,
                    value=outcome.value,
                )
            )

    # -- waiting for workers ------------------------------------------------------------------
    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        last_reap = 0.0
        while self._waiting:
            now = self.clock()
            if now - last_reap >= self.settings.heartbeat_interval:
                last_reap = now
                await self.registry.reap()
            await self._collect(now)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    async def _collect(self, now: float) -> None:
        states = await self.board.states(list(self._waiting))
        check_pending: list[int] = []
        for assignment_id, (state, _subagent) in states.items():
            if state in ("completed", "failed"):
                await self._resolve(assignment_id)
            elif state == "pending":
                check_pending.append(assignment_id)
        for assignment_id in list(self._waiting):
            waiting = self._waiting[assignment_id]
            if now > waiting.deadline:
                reason = f"no result within {self.settings.assignment_timeout:g} s"
                await self.board.abandon(assignment_id, reason)
                await self._resolve(assignment_id)
        for assignment_id in check_pending:
            await self._rescue_if_orphaned(assignment_id)

    async def _rescue_if_orphaned(self, assignment_id: int) -> None:
        """A pending row whose capable sub-agents all went away: local, or fail with a reason."""
        waiting = self._waiting.get(assignment_id)
        if waiting is None or await self.board.has_capable_live(waiting.unit.capability):
            return
        if self.local_allowed(waiting.unit):
            row = await self.board.take_back_for_local(assignment_id)
            if row is not None:
                del self._waiting[assignment_id]
                self._start_local(row, waiting.unit, waiting.local, waiting.future)
            return
        reason = (
            f"no live sub-agent offers {waiting.unit.capability!r} any more and running it"
            " locally is not allowed"
        )
        if await self.board.fail_pending(assignment_id, reason):
            await self._resolve(assignment_id)

    async def _resolve(self, assignment_id: int) -> None:
        waiting = self._waiting.pop(assignment_id, None)
        row = await self.board.get(assignment_id)
        if waiting is None or row is None or waiting.future.done():
            return
        waiting.future.set_result(
            UnitResult(
                row.id,
                row.state == "completed",
                row.subagent or "none",
                row.duration_s or 0.0,
                row.result,
                row.error,
            )
        )


def unit_run(result: UnitResult) -> AgentRun | None:
    """The ``AgentRun`` of an agent or hobby unit: in memory when it ran here, else from the
    JSON a worker reported. None when the unit produced no run (it failed before)."""
    if isinstance(result.value, AgentRun):
        run = result.value
    elif result.result is not None:
        run = run_from_dict(result.result)
    else:
        return None
    run.where = result.where
    return run


def agent_runner(
    executor: Executor, *, timeout: Timeout
) -> Callable[[Agent, ChangeSet, AgentContext], Awaitable[AgentRun]]:
    """An ``AgentRunner`` for ``core.pipeline``: each agent run becomes one unit of work."""
    from controlroom.core.pipeline import run_agent_locally

    async def runner(agent: Agent, change: ChangeSet, ctx: AgentContext) -> AgentRun:
        async def local() -> Outcome:
            seconds = timeout_for(timeout, change)
            run = await run_agent_locally(agent, change, ctx, timeout=seconds)
            return Outcome(run.status is RunStatus.OK, None, run.error, value=run)

        unit = WorkUnit.agent(agent.name, change.commit, analyze_all=ctx.analyze_all)
        result = await executor.run(unit, local=local)
        run = unit_run(result)
        if run is not None:
            return run
        return AgentRun(
            agent.name, RunStatus.FAILED, result.duration_s, error=result.error, where=result.where
        )

    return runner
