"""The background runtime: watch the repository for new commits, analyze each once, run side services.

Commits go through :class:`core.analysis.AnalysisService`: a (commit, agent) another entry point
(the post-commit hook, a cron run-once) has claimed is waited for, one it finished is skipped.

The TUI starts :meth:`Runtime.run` as a worker; tests call :meth:`Runtime.check_now` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from controlroom.core.analysis import AnalysisService
from controlroom.core.events import EventBus
from controlroom.core.history import latest_analyzed
from controlroom.core.model import Agent
from controlroom.core.pipeline import AgentRunner, CommitReport, ContextFactory
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace

log = logging.getLogger(__name__)


class Service(Protocol):
    """A side loop (SLA checks, metrics sampler, hobbies): runs until cancelled."""

    name: str

    async def run(self) -> None: ...


def plan_commits(new: list[str], cap: int) -> tuple[list[str], int]:
    """Oldest first, at most ``cap`` (the newest ones); returns (to analyze, number skipped)."""
    if len(new) <= cap:
        return new, 0
    return new[-cap:], len(new) - cap


class Runtime:
    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        *,
        agents: Sequence[Agent] | None = None,
        bus: EventBus | None = None,
        runner: AgentRunner | None = None,
        context_factory: ContextFactory | None = None,
        services: Sequence[Service] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        from controlroom.core.git import GitRepository

        self.workspace = workspace
        self.store = store
        self.events = bus or EventBus()
        self.clock = clock
        self.runner = runner
        self.context_factory = context_factory
        self.services = list(services)
        self.repo = GitRepository(workspace.repo_path)
        self.analysis = AnalysisService(
            store, workspace, agents=agents, runner=runner, context_factory=context_factory,
            repo=self.repo, clock=clock,
        )  # fmt: skip
        self.agents = self.analysis.agents
        self._last_head: str | None = None
        self._started = False
        self.busy = False  # analyzing a commit right now (hobbies wait for idle)
        self.closers: list[Callable[[], Awaitable[None]]] = []  # awaited when run() stops

    def is_idle(self) -> bool:
        return not self.busy

    async def _initial_head(self) -> str | None:
        last = await latest_analyzed(self.store)
        return last

    async def check_now(self) -> list[CommitReport]:
        """Look at the repository once; analyze every new commit (oldest first, capped)."""
        head = await asyncio.to_thread(self.repo.head_sha)
        if head is None:
            return []
        if not self._started:
            self._started = True
            self._last_head = await self._initial_head()
        if head == self._last_head:
            return []
        if self._last_head is None:
            candidates = [head]
        else:
            try:
                candidates = await asyncio.to_thread(
                    self.repo.commits_between, self._last_head, head
                )
            except Exception:  # history rewritten (rebase, reset): the new head alone
                candidates = [head]
        new = await self.analysis.pending(candidates)  # claimed and done by any entry point
        cap = int(self.workspace.config.get("runtime.max_commits_per_cycle"))
        todo, skipped = plan_commits(new, cap)
        if skipped:
            await self.store.record_event(
                "runtime.burst_capped", {"skipped": skipped, "head": head}
            )
            self.events.publish("runtime.burst_capped", skipped=skipped, head=head)
        reports = []
        self.busy = True
        try:
            for sha in todo:
                self.events.publish("commit.started", sha=sha)
                report = await self.analysis.analyze(sha)
                reports.append(report)
                self.events.publish(
                    "commit.analyzed",
                    sha=sha,
                    created=len(report.enqueued.created),
                    updated=len(report.enqueued.updated),
                    resolved=len(report.enqueued.resolved),
                )
        finally:
            self.busy = False
        self._last_head = head
        if reports:
            self.events.publish("tasks.changed")
        return reports

    async def run(self) -> None:
        """Watch until cancelled. One bad cycle is reported as an event and the loop goes on."""
        interval = float(self.workspace.config.get("runtime.poll_interval"))
        with contextlib.suppress(Exception):  # worktrees a killed controlroom left behind
            await asyncio.to_thread(self.repo.prune_stale_worktrees)
        service_tasks = [
            asyncio.create_task(self._run_service(service), name=f"service:{service.name}")
            for service in self.services
        ]
        try:
            while True:
                try:
                    await self.check_now()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("runtime cycle failed")
                    message = f"{type(exc).__name__}: {exc}"
                    self.events.publish("runtime.error", error=message)
                    with contextlib.suppress(Exception):
                        await self.store.record_event("runtime.error", {"error": message})
                await asyncio.sleep(interval)
        finally:
            for task in service_tasks:
                task.cancel()
            await asyncio.gather(*service_tasks, return_exceptions=True)
            for close in self.closers:
                with contextlib.suppress(Exception):
                    await close()
            self.repo.close()

    async def _run_service(self, service: Service) -> None:
        try:
            await service.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = f"{service.name}: {type(exc).__name__}: {exc}"
            log.exception("service %s stopped", service.name)
            self.events.publish("runtime.error", error=message)
