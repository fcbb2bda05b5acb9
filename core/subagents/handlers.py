"""Carrying out one unit of work, the same way in a worker process and in the core (local).

An agent unit rebuilds its ChangeSet from the commit sha; a hobby unit sweeps the whole
repository at that commit; a probe answers at once (after ``hold`` seconds of simulated work).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from controlroom.core.model import AgentContext, AgentRun, ChangeSet, RunStatus
from controlroom.core.plugins import load_agents, load_plugin
from controlroom.core.serialize import run_to_dict
from controlroom.core.store import Store
from controlroom.core.subagents.units import LOCAL, Assignment, WorkUnit
from controlroom.core.workspace import Workspace

HOBBY_GROUP = "controlroom.hobbies"


@dataclass(slots=True)
class Outcome:
    """How a unit ended. ``result`` is its JSON form, what a worker reports through the store;
    ``value`` the same result in memory (e.g. the ``AgentRun``), for the process that ran it: a
    local run hands it over as it is, never serialised nor stored."""

    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    value: Any = None


@dataclass(slots=True)
class HobbyContext(AgentContext):
    """An AgentContext for hobby sweeps, which may also keep an index in the store."""

    store: Store | None = None


def sweep_changeset(workspace: Workspace, sha: str) -> ChangeSet:
    """The pseudo change set of a whole-repository sweep: the commit, no changed files."""
    return ChangeSet(
        repo_path=workspace.repo_path,
        commit=sha,
        parent=None,
        subject="HEAD sweep",
        author="",
        committed_at=time.time(),
        files=(),
    )


def load_hobby(name: str) -> Any:
    """An instance of the hobby registered as ``name`` in ``controlroom.hobbies``."""
    return load_plugin(HOBBY_GROUP, name)()


class UnitHandler:
    """Runs units for one process (``where`` is the sub-agent's name or "local")."""

    def __init__(
        self,
        store: Store,
        workspace: Workspace | None,
        *,
        where: str,
        coordinator_store: bool = True,
    ) -> None:
        self.store = store
        self.workspace = workspace
        self.where = where
        # False on a Celery worker: ``store`` is its own cache, not the coordinator's, so a
        # hobby that keeps an index in the store gets none (and says so) instead of a wrong one.
        self.coordinator_store = coordinator_store

    async def execute(self, assignment: Assignment) -> Outcome:
        return await self.execute_unit(assignment.unit)

    async def execute_unit(self, unit: WorkUnit) -> Outcome:
        """Carry out ``unit`` (its JSON payload); never raises for a failing unit."""
        kind, payload = unit.kind, unit.payload
        if kind in ("agent", "hobby") and self.workspace is None:
            return Outcome(False, None, f"{self.where} has no repository to run {kind} work in")
        try:
            if kind == "agent":
                return await self._agent(payload)
            if kind == "hobby":
                return await self._hobby(payload)
            if kind == "probe":
                return await self._probe(payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one bad unit never stops a worker
            return Outcome(False, None, f"{type(exc).__name__}: {exc}")
        return Outcome(False, None, f"unknown kind of work {kind!r}")

    @property
    def ws(self) -> Workspace:
        assert self.workspace is not None
        return self.workspace

    async def _agent(self, payload: dict[str, Any]) -> Outcome:
        from controlroom.core.git import GitRepository
        from controlroom.core.pipeline import default_context_factory, run_agent_locally
        from controlroom.core.timeouts import agent_timeout

        name, sha = str(payload["agent"]), str(payload["commit"])
        agents = load_agents([name])
        if not agents:
            return Outcome(False, None, f"agent {name!r} is not installed on {self.where}")
        max_bytes = int(self.ws.config.get("git.max_file_bytes"))
        repo = GitRepository(self.ws.repo_path)
        change = await asyncio.to_thread(repo.changeset, sha, max_file_bytes=max_bytes)
        analyze_all = bool(payload.get("analyze_all", False))
        ctx = default_context_factory(self.store, self.ws, analyze_all)(agents[0], change)
        timeout = agent_timeout(self.ws.config, change)
        run = await run_agent_locally(agents[0], change, ctx, timeout=timeout)
        return self._from_run(run)

    async def _hobby(self, payload: dict[str, Any]) -> Outcome:
        from controlroom.core.pipeline import StoreAgentCache, run_agent_locally

        name, sha = str(payload["hobby"]), str(payload["commit"])
        hobby = load_hobby(name)
        config = self.ws.config
        ctx = HobbyContext(
            repo_path=self.ws.repo_path,
            config={**config.section("hobbies"), **config.section(f"hobbies.{name}")},
            analyze_all=True,
            cache=StoreAgentCache(self.store, name),
            settings=config.data,
            store=self.store if self.coordinator_store else None,
        )
        timeout = float(config.get("hobbies.timeout"))
        run = await run_agent_locally(hobby, sweep_changeset(self.ws, sha), ctx, timeout=timeout)
        return self._from_run(run)

    async def _probe(self, payload: dict[str, Any]) -> Outcome:
        hold = float(payload.get("hold", 0.0))
        if hold > 0:
            await asyncio.sleep(hold)  # the probe's simulated work
        return Outcome(True, {"pid": os.getpid(), "where": self.where, "tag": payload.get("tag")})

    def _from_run(self, run: AgentRun) -> Outcome:
        run.where = self.where
        result = None if self.where == LOCAL else run_to_dict(run)  # only workers serialise
        return Outcome(run.status is RunStatus.OK, result, run.error, value=run)
