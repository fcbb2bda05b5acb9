"""The worker loop of a sub-agent process: register, beat, take, run, report, leave cleanly.

``controlroom worker`` (tui/commands/worker.py) runs :func:`run_worker`. SIGTERM/SIGINT stop
taking work, let running units finish for up to ``drain_timeout`` seconds, hand back the rest
(pending again, new lease) and unregister. A second signal hands back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from controlroom.core.store import Store
from controlroom.core.subagents.assignments import AssignmentBoard, Finished
from controlroom.core.subagents.handlers import UnitHandler
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.settings import PROBE, SubagentSettings
from controlroom.core.subagents.units import Assignment
from controlroom.core.workspace import Workspace

log = logging.getLogger("controlroom.worker")


def default_name() -> str:
    return f"{socket.gethostname().split('.')[0]}-{os.getpid()}"


class Worker:
    """One sub-agent. ``stop`` (an event) ends it cleanly; ``force`` hands back at once."""

    def __init__(
        self,
        store: Store,
        workspace: Workspace,
        *,
        name: str | None = None,
        capabilities: tuple[str, ...] | None = None,
        max_concurrent: int | None = None,
        settings: SubagentSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or SubagentSettings.from_config(workspace.config)
        self.store = store
        self.name = name or default_name()
        caps = capabilities or self.settings.capabilities
        self.capabilities = tuple(dict.fromkeys((*caps, PROBE)))
        self.max_concurrent = max_concurrent or self.settings.max_concurrent
        misses = self.settings.missed_heartbeats
        self.registry = Registry(store, missed_heartbeats=misses, clock=clock)
        self.board = AssignmentBoard(store, missed_heartbeats=misses, clock=clock)
        self.handler = UnitHandler(store, workspace, where=self.name)
        self.stop = asyncio.Event()
        self.force = asyncio.Event()
        self.life = 0
        self.draining = False
        self.running: dict[int, tuple[Assignment, asyncio.Task[None]]] = {}
        self._changed = asyncio.Event()
        self.outbox: list[Finished] = []
        self.stale_results = 0  # results refused because the lease had moved on

    async def run(self) -> None:
        self.life = await self.registry.register(
            self.name,
            self.capabilities,
            max_concurrent=self.max_concurrent,
            heartbeat_interval=self.settings.heartbeat_interval,
            pid=os.getpid(),
        )
        beat = asyncio.create_task(self._heartbeat_loop())
        try:
            await self._take_loop()
            await self._finish_running()
            if self.outbox:
                await self._exchange(take=False)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            await self.registry.unregister(self.name, self.life)

    async def _take_loop(self) -> None:
        while not self.stop.is_set():
            if self.draining and not self.running and not self.outbox:
                return
            await self._exchange(take=len(self.running) < self.max_concurrent)
            self._changed.clear()
            if self.outbox:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.settings.poll_interval)

    async def _exchange(self, *, take: bool) -> None:
        """Report finished results and take new work, in one transaction."""
        finished, self.outbox = self.outbox, []
        applied, taken = await self.board.exchange(
            self.name, self.capabilities, finished=finished, take=take, route=not self.draining
        )
        for item, ok in zip(finished, applied, strict=True):
            if not ok:
                self.stale_results += 1
                log.warning("result of assignment %s ignored: lease moved on", item.assignment_id)
        for assignment in taken:
            self._start(assignment)

    def _start(self, assignment: Assignment) -> None:
        task = asyncio.create_task(self._carry_out(assignment))
        self.running[assignment.id] = (assignment, task)

    async def _carry_out(self, assignment: Assignment) -> None:
        started = time.perf_counter()
        try:
            outcome = await self.handler.execute(assignment)
            self.outbox.append(
                Finished(
                    assignment.id,
                    assignment.lease,
                    outcome.ok,
                    outcome.result,
                    outcome.error,
                    time.perf_counter() - started,
                )
            )
        finally:
            self.running.pop(assignment.id, None)
            self._changed.set()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            status = await self.registry.heartbeat(self.name, self.life)
            if status is None:  # declared dead while alive (paused, overloaded): start a new life
                log.warning("%s was declared dead; registering again", self.name)
                for _assignment, task in list(self.running.values()):
                    task.cancel()  # handed back already; its result would be refused anyway
                self.life = await self.registry.register(
                    self.name,
                    self.capabilities,
                    max_concurrent=self.max_concurrent,
                    heartbeat_interval=self.settings.heartbeat_interval,
                    pid=os.getpid(),
                )
            elif status == "draining" and not self.draining:
                self.draining = True
                self._changed.set()
            await self.registry.reap()

    async def _finish_running(self) -> None:
        """Let running units finish (up to drain_timeout or a second signal), hand back the rest."""
        if not self.running:
            return
        tasks = [task for _a, task in self.running.values()]
        everything: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*tasks, return_exceptions=True)
        )
        forced: asyncio.Future[Any] = asyncio.ensure_future(self.force.wait())
        await asyncio.wait(
            [everything, forced],
            timeout=self.settings.drain_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        forced.cancel()
        if self.outbox:
            await self._exchange(take=False)
        for assignment, task in list(self.running.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.board.hand_back(assignment.id, assignment.lease, f"{self.name} stopped")


async def run_worker(
    workspace: Workspace,
    *,
    name: str | None = None,
    capabilities: tuple[str, ...] | None = None,
    max_concurrent: int | None = None,
    settings: SubagentSettings | None = None,
    on_ready: Callable[[Worker], None] | None = None,
) -> Worker:
    """Open the store and run a worker until SIGTERM/SIGINT (or draining). Returns it, finished."""
    store = await Store.open(workspace.db_path)
    try:
        worker = Worker(
            store,
            workspace,
            name=name,
            capabilities=capabilities,
            max_concurrent=max_concurrent,
            settings=settings,
        )
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if worker.stop.is_set():
                log.warning(
                    "%s: handing back %d running unit(s) now", worker.name, len(worker.running)
                )
                worker.force.set()
            else:
                log.warning(
                    "%s: stopping; %d running unit(s) may finish (signal again to hand"
                    " them back now)",
                    worker.name,
                    len(worker.running),
                )
            worker.stop.set()
            worker._changed.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        if on_ready is not None:
            on_ready(worker)
        await worker.run()
        return worker
    finally:
        await store.close()
