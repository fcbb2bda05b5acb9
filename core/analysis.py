"""The analysis service: the one way a commit is analyzed, whoever asks.

``--run-once``, the post-commit hook (a run-once), the TUI's runtime and the hobby sweeps all go
through :class:`AnalysisService`. It loads the enabled agents (``agents.enabled``), builds their
contexts, and claims each (commit, agent) in the store before running it (core/claims.py), so two
entry points never analyze the same (commit, agent) at once:

- free: claimed, run, stored; the claim becomes ``done`` in the results' transaction;
- running elsewhere: waited for (the store is polled every ``analysis.claim_poll_interval``); a
  claimant that died (lease expired, or its pid is gone from this host) is taken over;
- already done: skipped, and the stored results are reported, unless the caller asks for a
  re-run (``rerun=True``: ``controlroom --run-once --rerun``). Automatic analyses (runtime, hook,
  cron run-once, ``--since``) never re-run a finished (commit, agent); a ``--all`` analysis is not
  satisfied by an earlier changed-lines one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from controlroom.core.claims import ALL, CHANGED, Claims, done_shas
from controlroom.core.config import Config
from controlroom.core.enqueue import EnqueueResult
from controlroom.core.git import GitRepository
from controlroom.core.model import Agent, AgentOutput, AgentRun, Finding, RunStatus, Severity
from controlroom.core.pipeline import (
    AgentRunner,
    CommitReport,
    ContextFactory,
    analyze_change,
    default_context_factory,
)
from controlroom.core.plugins import load_named_agents
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace

log = logging.getLogger(__name__)
WaitHook = Callable[[str, list[str]], None]


def enabled_names(config: Config) -> list[str]:
    return [str(name) for name in config.get("agents.enabled")]


def load_enabled_agents(
    config: Config, names: Sequence[str] | None = None
) -> tuple[list[Agent], list[str]]:
    """The agents to run (``names``, default ``agents.enabled``) and those not installed."""
    wanted = list(names) if names is not None else enabled_names(config)
    return load_named_agents(wanted)


def fixing_agents(config: Config) -> list[Agent]:
    """The agents ``apply`` may ask to carry out a task: the enabled ones."""
    return load_enabled_agents(config)[0]


class AnalysisService:
    """Claims, runs and stores the analysis of commits for one store and workspace."""

    def __init__(
        self,
        store: Store,
        workspace: Workspace,
        *,
        agents: Sequence[Agent] | None = None,
        runner: AgentRunner | None = None,
        context_factory: ContextFactory | None = None,
        repo: GitRepository | None = None,
        clock: Callable[[], float] = time.time,
        on_wait: WaitHook | None = None,
    ) -> None:
        config = workspace.config
        self.store = store
        self.workspace = workspace
        self.agents = list(agents) if agents is not None else load_enabled_agents(config)[0]
        self.runner = runner
        self.context_factory = context_factory
        self.repo = repo
        self.clock = clock
        self.on_wait = on_wait
        self.lease_s = float(config.get("analysis.lease_seconds"))
        self.poll_s = float(config.get("analysis.claim_poll_interval"))
        self.claims = Claims(store, lease_s=self.lease_s, clock=clock)

    @property
    def names(self) -> list[str]:
        return [agent.name for agent in self.agents]

    async def pending(self, shas: list[str], *, analyze_all: bool = False) -> list[str]:
        """``shas`` on which some agent has not finished (order kept)."""
        done = await done_shas(self.store, shas, self.names) if not analyze_all else set()
        return [sha for sha in shas if sha not in done]

    async def analyze(
        self, sha: str, *, analyze_all: bool = False, rerun: bool = False
    ) -> CommitReport:
        """Analyze ``sha`` with every agent not analyzed yet (all of them with ``rerun``)."""
        owned = self.repo is None
        repo = self.repo or GitRepository(self.workspace.repo_path)
        try:
            max_bytes = int(self.workspace.config.get("git.max_file_bytes"))
            change = await asyncio.to_thread(repo.changeset, sha, max_file_bytes=max_bytes)
            factory = self.context_factory or default_context_factory(
                self.store, self.workspace, analyze_all, repo=repo
            )
            return await self._claimed(change, factory, analyze_all, rerun, repo.head_sha)
        finally:
            if owned:
                repo.close()

    async def _claimed(
        self,
        change: Any,
        factory: ContextFactory,
        analyze_all: bool,
        rerun: bool,
        head: Callable[[], str | None],
    ) -> CommitReport:
        sha, scope = change.commit, ALL if analyze_all else CHANGED
        by_name = {agent.name: agent for agent in self.agents}
        claimed = await self.claims.acquire(sha, list(by_name), scope=scope, force=rerun)
        skipped = list(claimed.done)
        mine, busy = claimed.mine, claimed.busy
        reports: list[CommitReport] = []
        notes: list[str] = []
        holding: set[str] = set()
        renewer = asyncio.create_task(self._renew(sha, holding))
        try:
            while True:
                if claimed.taken_over:
                    notes.append(
                        f"took over {', '.join(claimed.taken_over)} on {sha[:10]} "
                        "from a claimant that stopped"
                    )
                if mine:
                    holding.update(mine)
                    ours = list(mine)

                    async def finish(conn: Any, ours: list[str] = ours) -> None:
                        await self.claims.finish(conn, sha, ours)

                    reports.append(
                        await analyze_change(
                            self.store, self.workspace, change,
                            [by_name[name] for name in ours],
                            analyze_all=analyze_all, runner=self.runner,
                            context_factory=factory, clock=self.clock, on_stored=finish,
                            head=head,
                        )
                    )  # fmt: skip
                    holding.difference_update(ours)
                if not busy:
                    break
                if self.on_wait is not None:
                    self.on_wait(sha, list(busy))
                await asyncio.sleep(self.poll_s)  # another process holds the claim: poll the store
                claimed = await self.claims.acquire(sha, busy, scope=scope)
                skipped += claimed.done
                mine, busy = claimed.mine, claimed.busy
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if holding:
                await asyncio.shield(self.claims.release(sha, sorted(holding)))
        if skipped:
            notes.append(
                f"{sha[:10]}: already analyzed by {', '.join(sorted(skipped))}: stored results "
                "reported (--rerun analyzes again)"
            )
        return await self._combine(change, reports, skipped, notes)

    async def _renew(self, sha: str, holding: set[str]) -> None:
        """Keep our leases alive while our agents run."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.claims.renew(sha, sorted(holding))
            except Exception:  # a busy store: the next renewal tries again
                log.warning("could not renew the analysis lease on %s", sha[:10], exc_info=True)

    async def _combine(
        self, change: Any, reports: list[CommitReport], skipped: list[str], notes: list[str]
    ) -> CommitReport:
        """One report: what ran here, plus the stored results of the agents skipped."""
        if len(reports) == 1 and not skipped:
            reports[0].notes.extend(notes)
            return reports[0]
        runs, findings = await stored_results(self.store, change.commit, skipped)
        enqueued = EnqueueResult()
        for report in reports:
            runs = [*report.runs, *runs]
            findings = [*report.findings, *findings]
            enqueued.created += report.enqueued.created
            enqueued.updated += report.enqueued.updated
            enqueued.resolved += report.enqueued.resolved
            enqueued.task_ids.update(report.enqueued.task_ids)
            notes = [*report.notes, *notes]
        return CommitReport(
            change=change,
            runs=runs,
            enqueued=enqueued,
            findings=findings,
            duration_s=sum(r.duration_s for r in reports),
            consensus_count=sum(r.consensus_count for r in reports),
            critical_count=sum(1 for f in findings if f["severity"] == Severity.CRITICAL.value),
            files_flagged=len({f["path"] for f in findings}),
            notes=notes,
        )

    async def baseline(self, *, progress: Any = None) -> Any:
        """Every agent once over the whole tree at HEAD (``core/baseline.py``)."""
        from controlroom.core.baseline import run_baseline

        return await run_baseline(self, progress=progress)

    async def record_sweep(self, sha: str, run: AgentRun) -> EnqueueResult:
        """A hobby sweep's results: evidence for the queue, never a commits row."""
        from controlroom.core.sweeps import enqueue_sweep

        return await enqueue_sweep(self.store, self.workspace, sha, run, clock=self.clock)


async def stored_results(
    store: Store, sha: str, agents: list[str]
) -> tuple[list[AgentRun], list[dict[str, Any]]]:
    """The stored runs and findings of ``agents`` on ``sha``, in the report's shapes."""
    if not agents:
        return [], []
    marks = ", ".join("?" * len(agents))
    rows = await store.fetchall(
        f"SELECT * FROM findings WHERE commit_sha = ? AND source = 'agent' AND agent IN ({marks}) "
        "ORDER BY id",
        (sha, *agents),
    )
    by_agent: dict[str, list[Finding]] = {}
    report: list[dict[str, Any]] = []
    for row in rows:
        finding = Finding(
            agent=row["agent"], rule=row["rule"], severity=Severity(row["severity"]),
            path=row["path"], line=row["line"], message=row["message"], symbol=row["symbol"],
            snippet=row["snippet"], suggested_fix=row["suggested_fix"],
            confidence=row["confidence"], end_line=row["end_line"],
            detector=row["detector"] or "",
        )  # fmt: skip
        by_agent.setdefault(row["agent"], []).append(finding)
        report.append(
            {
                "agent": row["agent"], "rule": row["rule"], "severity": row["severity"],
                "path": row["path"], "line": row["line"], "end_line": row["end_line"],
                "symbol": row["symbol"], "message": row["message"], "snippet": row["snippet"],
                "suggested_fix": row["suggested_fix"], "confidence": row["confidence"],
                "url": None, "fingerprint": row["fingerprint"], "task_id": row["task_id"],
            }
        )  # fmt: skip
    run_rows = await store.fetchall(
        f"SELECT * FROM agent_runs WHERE commit_sha = ? AND agent IN ({marks}) ORDER BY agent",
        (sha, *agents),
    )
    runs = [
        AgentRun(
            agent=r["agent"],
            status=RunStatus(r["status"]),
            duration_s=r["duration_s"],
            output=AgentOutput(by_agent.get(r["agent"], []), json.loads(r["metrics_json"] or "{}")),
            error=r["error"],
            started_at=r["started_at"],
            where="stored",
        )
        for r in run_rows
    ]
    return runs, report


__all__ = [
    "AnalysisService",
    "enabled_names",
    "fixing_agents",
    "load_enabled_agents",
    "stored_results",
]
