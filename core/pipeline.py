"""One commit through the agents, convergence and the queue: the spine's single code path.

The runtime (TUI), ``--run-once`` and worker processes all call :func:`analyze_commit`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from controlroom.core.convergence import converge
from controlroom.core.enqueue import EnqueueResult, enqueue, load_scoring, tasks_to_place
from controlroom.core.git import GitRepository
from controlroom.core.history_search import index_change
from controlroom.core.lineage import Lineage, build_lineage, place
from controlroom.core.llm.assistant import get_service, make_assistant_factory
from controlroom.core.model import (
    Agent,
    AgentContext,
    AgentOutput,
    AgentRun,
    ChangeSet,
    Finding,
    RunStatus,
    Severity,
)
from controlroom.core.resolution import Scopes
from controlroom.core.reverts import notice_outcomes
from controlroom.core.secrets import redact
from controlroom.core.store import Store
from controlroom.core.task_refs import TaskRef
from controlroom.core.timeouts import Timeout, scaled, timeout_for
from controlroom.core.toolkit.shared_scan import running_together
from controlroom.core.workspace import Workspace

AgentRunner = Callable[[Agent, ChangeSet, AgentContext], Awaitable[AgentRun]]


class StoreAgentCache:
    """``AgentContext.cache``: a per-agent key/value store kept in the ``agent_cache`` table."""

    def __init__(self, store: Store, agent: str) -> None:
        self.store = store
        self.agent = agent

    async def get(self, key: str) -> Any | None:
        raw = await self.store.fetchval(
            "SELECT value_json FROM agent_cache WHERE agent = ? AND key = ?", (self.agent, key)
        )
        return None if raw is None else json.loads(raw)

    async def put(self, key: str, value: Any) -> None:
        await self.store.execute(
            "INSERT INTO agent_cache (agent, key, value_json, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (agent, key) DO UPDATE SET value_json = excluded.value_json, "
            "updated_at = excluded.updated_at",
            (self.agent, key, json.dumps(value), time.time()),
        )


async def run_agent_locally(
    agent: Agent, change: ChangeSet, ctx: AgentContext, *, timeout: float
) -> AgentRun:
    """Run one agent with its own timeout; any failure becomes a recorded run, never an exception."""
    started = time.time()
    clock = time.perf_counter()
    ctx.deadline = time.monotonic() + timeout  # [llm]: LLM calls end before the agent's timeout
    try:
        output = await asyncio.wait_for(agent.analyze(change, ctx), timeout)
        status, error = RunStatus.OK, None
    except TimeoutError:
        output, status, error = AgentOutput(), RunStatus.TIMEOUT, f"timed out after {timeout:g} s"
        output = ctx.partial or output  # [llm]: the offline findings published before Claude
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # an agent's bug must not stop the others
        output, status, error = AgentOutput(), RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    if not isinstance(output, AgentOutput):
        output, status = AgentOutput(), RunStatus.FAILED
        error = f"returned {type(output).__name__}, not AgentOutput"
    return AgentRun(agent.name, status, time.perf_counter() - clock, output, error, started)


def local_runner(timeout: Timeout) -> AgentRunner:
    """Agents run in this process; ``timeout`` in seconds, or scaled with each change set."""

    async def runner(agent: Agent, change: ChangeSet, ctx: AgentContext) -> AgentRun:
        return await run_agent_locally(agent, change, ctx, timeout=timeout_for(timeout, change))

    return runner


@dataclass(slots=True)
class CommitReport:
    """What one commit's analysis did, for the store, the event stream and the run-once report."""

    change: ChangeSet
    runs: list[AgentRun]
    enqueued: EnqueueResult
    findings: list[dict[str, Any]]
    duration_s: float
    consensus_count: int
    critical_count: int
    files_flagged: int
    notes: list[str] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.change.commit

    def severities(self) -> list[Severity]:
        return [Severity(f["severity"]) for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        def refs(items: list[TaskRef]) -> list[dict[str, Any]]:
            return [item.to_dict() for item in items]

        return {
            "sha": self.change.commit,
            "parent": self.change.parent,
            "subject": self.change.subject,
            "author": self.change.author,
            "duration_s": round(self.duration_s, 4),
            "agents": [
                {
                    "agent": run.agent,
                    "status": run.status.value,
                    "duration_s": round(run.duration_s, 4),
                    "findings": len(run.output.findings),
                    "error": run.error,
                    "where": run.where,
                    "metrics": run.output.metrics,
                }
                for run in self.runs
            ],
            "findings": self.findings,
            "skipped_files": [
                {"path": f.path, "reason": f.skipped_reason} for f in self.change.skipped()
            ],
            "consensus": self.consensus_count,
            "critical": self.critical_count,
            "files_flagged": self.files_flagged,
            "tasks": {
                "created": refs(self.enqueued.created),
                "updated": refs(self.enqueued.updated),
                "resolved": refs(self.enqueued.resolved),
            },
            "notes": self.notes,
        }


ContextFactory = Callable[[Agent, ChangeSet], AgentContext]


async def analyze_change(
    store: Store,
    workspace: Workspace,
    change: ChangeSet,
    agents: list[Agent],
    *,
    analyze_all: bool = False,
    runner: AgentRunner | None = None,
    context_factory: ContextFactory | None = None,
    clock: Callable[[], float] = time.time,
    lineage: Lineage | None = None,
    on_stored: Callable[[aiosqlite.Connection], Awaitable[None]] | None = None,
    head: Callable[[], str | None] | None = None,
) -> CommitReport:
    """Run ``agents`` concurrently on ``change``, converge, and write everything in one transaction.

    ``lineage`` says whether this commit speaks for the present (HEAD or a descendant of where a
    task was last seen); by default git is asked (before the transaction), HEAD through ``head``
    when given (an open repository reads it without a process). ``on_stored`` runs inside the
    results' transaction (the analysis service marks its claims done there).
    """
    config = workspace.config
    started = time.perf_counter()
    runner = runner or local_runner(scaled(config))
    service = get_service(config, store)
    if service is not None:  # budgets reached by other processes turn the agents offline
        await service.refresh()
    make_context = context_factory or default_context_factory(store, workspace, analyze_all)
    running_together(change, agents)  # agents that parse files share one parse (shared_scan)
    # Resolution's parse of the changed files, done while the agents run (mostly waiting on
    # their subprocesses) instead of inside the results' transaction.
    warming = asyncio.create_task(asyncio.to_thread(Scopes.of_change(change).warm, change))
    try:
        runs = list(
            await asyncio.gather(
                *(runner(agent, change, make_context(agent, change)) for agent in agents)
            )
        )
    finally:
        await warming
    all_findings = [f for run in runs for f in run.output.findings]
    scoring = await load_scoring(store, config)
    converged = converge(all_findings, scoring.weights, consensus_min_agents=scoring.consensus_min)
    if lineage is None:  # asked before the transaction: git never runs inside it
        paths = sorted({p for f in change.files for p in (f.path, f.old_path) if p})
        refs = await tasks_to_place(store, [item.fingerprint for item in converged], paths)
        if head is None:
            lineage = await asyncio.to_thread(place, workspace.repo_path, change.commit, refs)
        else:
            current = await asyncio.to_thread(head)
            lineage = await asyncio.to_thread(
                build_lineage, workspace.repo_path, change.commit, current, refs
            )
    now = clock()
    agents_ok = {run.agent for run in runs if run.status is RunStatus.OK}
    async with store.transaction() as conn:
        # Re-analysis of a commit replaces the rows of the agents that ran again; the tasks
        # their old findings backed are recomputed from the evidence left (``stale``).
        ran = [run.agent for run in runs]
        marks = ", ".join("?" * len(ran))
        cursor = await conn.execute(
            f"SELECT DISTINCT fingerprint FROM findings WHERE commit_sha = ? AND source = 'agent' "
            f"AND agent IN ({marks})",
            (change.commit, *ran),
        )
        stale = {row["fingerprint"] for row in await cursor.fetchall()}
        await conn.execute(
            f"DELETE FROM findings WHERE commit_sha = ? AND source = 'agent' AND agent IN ({marks})",
            (change.commit, *ran),
        )
        await conn.execute(
            f"DELETE FROM agent_runs WHERE commit_sha = ? AND agent IN ({marks})",
            (change.commit, *ran),
        )
        await conn.execute(
            "INSERT INTO commits (sha, parent, subject, author, committed_at, analyzed_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha) DO UPDATE SET analyzed_at = excluded.analyzed_at",
            (change.commit, change.parent, change.subject, change.author, change.committed_at, now),
        )
        enqueued = await enqueue(
            conn, converged, change, now=now, agents_ok=agents_ok, analyze_all=analyze_all,
            lineage=lineage, scoring=scoring, stale=stale,
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO agent_runs (commit_sha, agent, status, started_at, duration_s, "
            "findings_count, error, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    change.commit, run.agent, run.status.value, run.started_at, run.duration_s,
                    len(run.output.findings), redact(run.error), json.dumps(run.output.metrics, default=str),
                )
                for run in runs
            ],
        )  # fmt: skip
        duration = time.perf_counter() - started
        consensus = sum(1 for item in converged if item.consensus)
        critical = sum(1 for item in converged if item.review_now)
        flagged = len({item.path for item in converged})
        metrics = {run.agent: run.output.metrics for run in runs if run.output.metrics}
        # Run and finding counts cover every agent's latest run on this commit; metrics merge.
        await conn.execute(
            "UPDATE commits SET duration_s = :duration, "
            "agents_ok = (SELECT COUNT(*) FROM agent_runs WHERE commit_sha = :sha AND status = 'ok'), "
            "agents_failed = (SELECT COUNT(*) FROM agent_runs WHERE commit_sha = :sha AND status != 'ok'), "
            "findings_count = (SELECT COUNT(*) FROM findings WHERE commit_sha = :sha AND source = 'agent'), "
            "files_flagged = :flagged, consensus_count = :consensus, critical_count = :critical, "
            "tasks_created = :created, tasks_updated = :updated, tasks_resolved = :resolved, "
            "skipped_json = :skipped, metrics_json = json_patch(metrics_json, :metrics) WHERE sha = :sha",
            {
                "sha": change.commit, "duration": duration, "flagged": flagged,
                "consensus": consensus, "critical": critical, "created": len(enqueued.created),
                "updated": len(enqueued.updated), "resolved": len(enqueued.resolved),
                "skipped": json.dumps(
                    [{"path": f.path, "reason": f.skipped_reason} for f in change.skipped()]
                ),
                "metrics": json.dumps(metrics, default=str),
            },
        )  # fmt: skip
        # What the history teaches: fixes landed or reverted, and the commit in the search index.
        await notice_outcomes(conn, change, now)
        await index_change(conn, change, now)
        if on_stored is not None:
            await on_stored(conn)
    notes = [note for run in runs for note in run.output.notes]
    report_findings = [
        _report_finding(finding, item.fingerprint, enqueued.task_ids.get(item.fingerprint))
        for item in converged
        for finding in item.findings
    ]
    return CommitReport(
        change=change,
        runs=runs,
        enqueued=enqueued,
        findings=report_findings,
        duration_s=duration,
        consensus_count=consensus,
        critical_count=critical,
        files_flagged=flagged,
        notes=notes,
    )


def _report_finding(finding: Finding, fingerprint: str, task_id: int | None) -> dict[str, Any]:
    """The report's form of a finding (without ``extra``; cheaper than dataclasses.asdict)."""
    return {
        "agent": finding.agent,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "end_line": finding.end_line,
        "symbol": finding.symbol,
        "message": finding.message,
        "snippet": finding.snippet,
        "suggested_fix": finding.suggested_fix,
        "confidence": finding.confidence,
        "url": finding.url,
        "fingerprint": fingerprint,
        "task_id": task_id,
    }


def default_context_factory(
    store: Store,
    workspace: Workspace,
    analyze_all: bool,
    assistant_factory: Callable[[str, str], Any | None] | None = None,
    repo: GitRepository | None = None,
) -> ContextFactory:
    """Contexts for local runs: the agent's config table, its cache, worktrees, the LLM seam."""
    repo = repo or GitRepository(workspace.repo_path)

    def make(agent: Agent, change: ChangeSet) -> AgentContext:
        if assistant_factory is not None:
            name = agent.name

            def assistants(purpose: str) -> Any | None:
                return assistant_factory(name, purpose)

        else:  # Claude when ANTHROPIC_API_KEY is set; None (offline) otherwise
            assistants = make_assistant_factory(
                workspace.config, store, agent_name=agent.name, commit=change.commit
            )

        return AgentContext(
            repo_path=workspace.repo_path,
            config=workspace.config.section(agent.name),
            analyze_all=analyze_all,
            cache=StoreAgentCache(store, agent.name),
            assistant_factory=assistants,
            worktree_factory=repo.worktree,
            settings=workspace.config.data,
        )

    return make


async def analyze_commit(
    store: Store,
    workspace: Workspace,
    sha: str,
    agents: list[Agent],
    *,
    analyze_all: bool = False,
    runner: AgentRunner | None = None,
    context_factory: ContextFactory | None = None,
    clock: Callable[[], float] = time.time,
    repo: GitRepository | None = None,
) -> CommitReport:
    """Build the change set for ``sha`` (off the event loop) and analyze it."""
    owned = repo is None
    repo = repo or GitRepository(workspace.repo_path)
    try:
        max_bytes = int(workspace.config.get("git.max_file_bytes"))
        change = await asyncio.to_thread(repo.changeset, sha, max_file_bytes=max_bytes)
        return await analyze_change(
            store,
            workspace,
            change,
            agents,
            analyze_all=analyze_all,
            runner=runner,
            context_factory=context_factory
            or default_context_factory(store, workspace, analyze_all, repo=repo),
            clock=clock,
        )
    finally:
        if owned:
            repo.close()


__all__ = [
    "AgentRunner",
    "CommitReport",
    "StoreAgentCache",
    "analyze_change",
    "analyze_commit",
    "local_runner",
    "run_agent_locally",
]
