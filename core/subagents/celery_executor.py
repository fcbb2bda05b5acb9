"""The Celery backend of the executor boundary: units go to Celery workers, one queue per capability.

The coordinator (this process) keeps the store and is the only one to write it: a unit is sent
as JSON (``WorkUnit.payload``), a worker returns its result as JSON through the result backend,
and the caller (the pipeline, the hobby scheduler) converges and stores it, exactly as for a
local run. Re-delivery may run a unit twice (a worker killed mid-unit); the coordinator still
takes one result per unit, and the analysis claims (core/claims.py) make the write idempotent.

Before sending, the coordinator asks which queues have a live consumer (Celery's inspect, with a
short timeout; the answer is reused for ``liveness_ttl`` seconds). A unit whose queue nobody
consumes, or any unit while the broker is unreachable, runs locally when its capability is in
``[subagents] local_capabilities`` and fails at once with the reason otherwise. Units already
sent whose queue loses every consumer are taken back the same way. See docs/distributed.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlroom.core.secrets import redact
from controlroom.core.store import Store
from controlroom.core.subagents.celery_app import (
    READY,
    broker_problem,
    forget,
    inspect_workers,
    make_app,
    result_metas,
)
from controlroom.core.subagents.celery_monitor import record_workers
from controlroom.core.subagents.celery_settings import TASK_NAME, CelerySettings
from controlroom.core.subagents.executor import LocalWork, StoreExecutor
from controlroom.core.subagents.handlers import UnitHandler
from controlroom.core.subagents.settings import SubagentSettings
from controlroom.core.subagents.units import LOCAL, Assignment, UnitResult, WorkUnit
from controlroom.core.workspace import Workspace

log = logging.getLogger("controlroom.celery")


@dataclass(slots=True)
class _Sent:
    future: asyncio.Future[UnitResult]
    unit: WorkUnit
    local: LocalWork | None
    row: Assignment
    queue: str
    deadline: float
    where: str | None = None  # the worker that started it (Celery's STARTED state)


class CeleryExecutor(StoreExecutor):
    """Sends units to Celery workers; local fallback and fail-fast as :class:`StoreExecutor`."""

    def __init__(
        self,
        store: Store,
        *,
        celery: CelerySettings,
        workspace: Workspace | None = None,
        settings: SubagentSettings | None = None,
        handler: UnitHandler | None = None,
        app: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            store, workspace=workspace, settings=settings, handler=handler, clock=clock
        )
        self.celery = celery
        self.app = app if app is not None else make_app(celery)
        self._sent: dict[str, _Sent] = {}
        self._live: dict[str, set[str]] = {}
        self._problem: str | None = None
        self._live_at = float("-inf")
        self._live_lock = asyncio.Lock()
        self._refresh: asyncio.Task[Any] | None = None
        self._poll = max(self.settings.poll_interval, 0.02)
        # Why units did not go to a worker, in order (the last 200: a runtime lives long).
        self.problems: deque[str] = deque(maxlen=200)

    # -- who is there ---------------------------------------------------------------------
    async def consumers(
        self, *, fresh: bool = False, with_active: bool = False
    ) -> tuple[dict[str, set[str]], str | None]:
        """queue -> live workers, and why none can be reached (None when the broker answered).

        An answer older than ``liveness_ttl`` is refreshed in the background while the old one
        is used, so sending never waits for an inspection; only the first call (or ``fresh``)
        waits, never longer than the connect and liveness timeouts (plus a margin)."""
        running = self._refresh is not None and not self._refresh.done()
        if fresh or self._live_at == float("-inf"):
            if not running:  # concurrent callers share one inspection
                self._refresh = asyncio.create_task(self._inspect(with_active=with_active))
            assert self._refresh is not None
            return await asyncio.shield(self._refresh)
        if not running and self.clock() - self._live_at >= self.celery.liveness_ttl:
            self._refresh = asyncio.create_task(self._inspect())
        return self._live, self._problem

    async def _inspect(
        self, *, with_active: bool = False
    ) -> tuple[dict[str, set[str]], str | None]:
        async with self._live_lock:
            limit = self.celery.connect_timeout * 3 + self.celery.liveness_timeout * 4 + 2
            workers: dict[str, Any] = {}
            try:
                problem = await asyncio.wait_for(
                    asyncio.to_thread(broker_problem, self.app, self.celery.connect_timeout),
                    limit,
                )
                if problem is None:
                    workers = await asyncio.wait_for(
                        asyncio.to_thread(
                            inspect_workers,
                            self.app,
                            self.celery.liveness_timeout,
                            with_active=with_active,
                        ),
                        limit,
                    )
            except TimeoutError:
                problem = f"no answer within {limit:g} s"
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            live: dict[str, set[str]] = {}
            for name, worker in workers.items():
                for queue in worker.queues:
                    live.setdefault(queue, set()).add(name)
            self._live, self._live_at = live, self.clock()
            self._problem = (
                None
                if problem is None
                else f"broker {self.celery.shown_broker} unreachable ({redact(problem)})"
            )
            if problem is None:
                await record_workers(self.store, workers, now=self.clock())
            return self._live, self._problem

    # -- submitting -------------------------------------------------------------------------
    async def submit(
        self, unit: WorkUnit, *, local: LocalWork | None = None
    ) -> asyncio.Future[UnitResult]:
        future: asyncio.Future[UnitResult] = asyncio.get_running_loop().create_future()
        await self.prune_due()
        queue = self.celery.queue(unit.capability)
        live, problem = await self.consumers()
        if problem is not None or queue not in live:  # make sure before giving up on workers
            age = self.clock() - self._live_at
            live, problem = await self.consumers(fresh=age > self.celery.liveness_timeout)
        if problem is not None or queue not in live:
            await self._not_sent(unit, local, future, problem or self._nobody(queue))
            return future
        row = await self.board.record(
            unit,
            state="assigned",
            subagent=f"queue:{queue}",
            local_allowed=self.local_allowed(unit),
        )
        task_id = f"controlroom-{row.id}-{uuid.uuid4().hex[:12]}"
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._send, unit, queue, task_id),
                self.celery.connect_timeout * 3 + 2,
            )
        except Exception as exc:  # the broker went away between the check and the send
            self._live_at = float("-inf")
            reason = f"could not send to {self.celery.shown_broker}: {redact(str(exc))}"
            await self._take_back(row, unit, local, future, reason)
            return future
        deadline = self.clock() + max(
            self.settings.assignment_timeout,
            self.celery.unit_time_limit + self.celery.visibility_timeout,
        )
        self._sent[task_id] = _Sent(future, unit, local, row, queue, deadline)
        self._ensure_watcher()
        return future

    def _send(self, unit: WorkUnit, queue: str, task_id: str) -> None:
        self.app.send_task(
            TASK_NAME,
            args=[unit.payload],
            queue=queue,
            task_id=task_id,
            time_limit=self.celery.unit_time_limit,
        )

    def _nobody(self, queue: str) -> str:
        return f"no live Celery worker consumes the queue {queue!r}"

    async def _not_sent(
        self,
        unit: WorkUnit,
        local: LocalWork | None,
        future: asyncio.Future[UnitResult],
        reason: str,
    ) -> None:
        self.problems.append(reason)
        if self.local_allowed(unit):
            log.warning("%s: %s; running it in this process", unit.target, reason)
            row = await self.board.record(unit, state="running", subagent=LOCAL, local_allowed=True)
            self._start_local(row, unit, local, future)
            return
        error = (
            f"{reason}, and running {unit.capability!r} locally is not allowed"
            " ([subagents] local_capabilities)"
        )
        row = await self.board.record(
            unit, state="failed", subagent=None, local_allowed=False, error=error
        )
        future.set_result(UnitResult(row.id, False, "none", 0.0, None, error))

    async def _take_back(
        self,
        row: Assignment,
        unit: WorkUnit,
        local: LocalWork | None,
        future: asyncio.Future[UnitResult],
        reason: str,
    ) -> None:
        """A sent (or unsendable) unit comes back: local when allowed, else failed with why."""
        self.problems.append(reason)
        if self.local_allowed(unit):
            log.warning("%s: %s; running it in this process", unit.target, reason)
            taken = await self.board.take_back_for_local(
                row.id, from_states=("assigned", "running"), note=reason
            )
            if taken is not None:
                self._start_local(taken, unit, local, future)
                return
            error = reason
        else:
            error = f"{reason}, and running {unit.capability!r} locally is not allowed"
        await self.board.abandon(row.id, error)
        if not future.done():
            future.set_result(UnitResult(row.id, False, "none", 0.0, None, error))

    # -- waiting for results ----------------------------------------------------------------
    async def _watch(self) -> None:
        checked = self.clock()
        while self._sent:
            try:
                metas = await asyncio.to_thread(result_metas, self.app, list(self._sent))
            except Exception as exc:  # the result backend went away: the liveness check decides
                log.warning("cannot read results: %s", redact(str(exc)))
                metas = {}
            taken = []
            for task_id, meta in metas.items():
                if meta.get("status") in READY:
                    await self._settle(task_id, meta)
                    taken.append(task_id)
                elif meta.get("status") == "STARTED":
                    await self._started(task_id, meta)
            if taken:
                with contextlib.suppress(Exception):  # best effort: results expire anyway
                    await asyncio.to_thread(forget, self.app, taken)
            now = self.clock()
            for task_id, sent in list(self._sent.items()):
                if now > sent.deadline:
                    self._sent.pop(task_id)
                    self._revoke([task_id])
                    reason = f"no result from {sent.queue!r} before the deadline"
                    await self.board.abandon(sent.row.id, reason)
                    if not sent.future.done():
                        sent.future.set_result(
                            UnitResult(sent.row.id, False, "none", 0.0, None, reason)
                        )
            if self._sent and now - checked >= self.celery.liveness_ttl:
                checked = now
                await self._rescue_orphans()
            if self._sent:
                await asyncio.sleep(self._poll)

    async def _started(self, task_id: str, meta: dict[str, Any]) -> None:
        """A worker took the unit: the assignment shows where it runs (again after a
        re-delivery to another worker)."""
        sent = self._sent.get(task_id)
        body = meta.get("result")
        info: dict[str, Any] = body if isinstance(body, dict) else {}
        worker = meta.get("worker") or info.get("hostname")
        if sent is None or not worker or worker == sent.where:
            return
        sent.where = str(worker)
        await self.board.mark_running(sent.row.id, sent.row.lease, subagent=sent.where)

    async def _settle(self, task_id: str, meta: dict[str, Any]) -> None:
        sent = self._sent.pop(task_id, None)
        if sent is None:
            return
        worker = str(meta.get("worker") or "celery")
        body = meta.get("result")
        if meta.get("status") == "SUCCESS" and isinstance(body, dict):
            ok, result = bool(body.get("ok")), body.get("result")
            error, where = body.get("error"), str(body.get("where") or worker)
            duration = float(body.get("duration_s") or 0.0)
            redelivered = bool(body.get("redelivered"))
            started_at = body.get("started_at")
        else:  # the backend turns a stored exception back into one (TimeLimitExceeded, ...)
            if isinstance(body, BaseException):
                error = f"{type(body).__name__}: {body}"
            elif isinstance(body, dict):
                error = f"{body.get('exc_type', 'Error')}: {body.get('exc_message', '')}"
            else:
                error = f"{meta.get('status')}: {body!r}"
            ok, result, where, duration, redelivered = False, None, worker, 0.0, False
            started_at = None
        await self.board.settle(
            sent.row.id,
            sent.row.lease,
            subagent=where,
            ok=ok,
            result=result,
            error=redact(error),
            duration_s=duration,
            attempts=2 if redelivered else 1,
        )
        if not sent.future.done():
            sent.future.set_result(
                UnitResult(
                    sent.row.id,
                    ok,
                    where,
                    duration,
                    result,
                    redact(error),
                    extra={
                        "task_id": task_id,
                        "redelivered": redelivered,
                        "started_at": started_at,
                    },
                )
            )

    async def _rescue_orphans(self) -> None:
        """Units whose queue lost every consumer (or the broker): local, or failed with why."""
        live, problem = await self.consumers(fresh=True)
        orphans = [
            (task_id, sent)
            for task_id, sent in self._sent.items()
            if problem is not None or sent.queue not in live
        ]
        if not orphans:
            return
        # A result may have landed since the last look: take it rather than redo the unit.
        with contextlib.suppress(Exception):
            ids = [task_id for task_id, _ in orphans]
            for task_id, meta in (await asyncio.to_thread(result_metas, self.app, ids)).items():
                if meta.get("status") in READY:
                    await self._settle(task_id, meta)
        for task_id, sent in orphans:
            if self._sent.pop(task_id, None) is None:
                continue
            self._revoke([task_id])
            reason = problem or f"{self._nobody(sent.queue)} any more"
            await self._take_back(sent.row, sent.unit, sent.local, sent.future, reason)

    def _revoke(self, task_ids: list[str]) -> None:
        """Best effort, without waiting: a live worker skips these if they reach it."""
        with contextlib.suppress(Exception):
            self.app.control.revoke(task_ids)

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(BaseException):
                await self._refresh
        pending = list(self._sent)
        for sent in self._sent.values():
            if not sent.future.done():
                sent.future.cancel()
        self._sent.clear()
        await super().close()
        if pending:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(self._revoke, pending), 5)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.app.close)
