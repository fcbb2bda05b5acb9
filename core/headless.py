"""The headless cycle behind ``controlroom --run-once``: analyze, gate, report, exit code.

The command line only parses its flags into a :class:`HeadlessRequest` and prints the
:class:`HeadlessResult`; everything that decides what runs and what the report says is here, usable
from cron, CI or another program without a terminal.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlroom.core.analysis import AnalysisService, load_enabled_agents
from controlroom.core.children import close_leftover_children
from controlroom.core.config import Config
from controlroom.core.errors import ControlroomError, ExitCode, RepositoryError, UsageError
from controlroom.core.git import GitRepository
from controlroom.core.model import RunStatus, Severity
from controlroom.core.pipeline import CommitReport
from controlroom.core.secrets import redact_data
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace, resolve_workspace

REPORT_SCHEMA = "controlroom.run-once/1"
FAIL_ON = {"critical": Severity.CRITICAL, "high": Severity.HIGH, "medium": Severity.MEDIUM}


class SlaGateError(ControlroomError):
    """``sla_gate="strict"`` and a gated SLA is violated: nothing was analyzed."""

    exit_code = ExitCode.SLA_GATE


@dataclass(frozen=True, slots=True)
class HeadlessRequest:
    """What one headless run should do (the ``--run-once`` flags)."""

    repo: str | None = None
    db: str | None = None
    config: str | None = None
    model: str | None = None  # one Claude model for every call
    agents: str | None = None  # comma-separated names; None: agents.enabled
    commit: str | None = None
    since: str | None = None
    analyze_all: bool = False
    rerun: bool = False
    sla_gate: str = "warn"  # off | warn | strict
    fail_on: str = "never"  # never | medium | high | critical


@dataclass(frozen=True, slots=True)
class HeadlessResult:
    """The report (``controlroom.run-once/1``, redacted) and the process exit code it implies."""

    report: dict[str, Any]
    exit_code: ExitCode

    @property
    def notes(self) -> list[str]:
        return list(self.report["notes"])


async def run_headless(request: HeadlessRequest) -> HeadlessResult:
    """Analyze the requested commits once (claimed, so nothing else runs them at the same time)."""
    started = time.perf_counter()
    overrides = {"llm.model": request.model} if request.model else None
    workspace = resolve_workspace(request.repo, request.db, request.config, overrides)
    config = workspace.config
    names = (
        [n.strip() for n in request.agents.split(",") if n.strip()]
        if request.agents
        else list(config.get("agents.enabled"))
    )
    agents, missing = load_enabled_agents(config, names)
    if request.agents and missing:
        raise UsageError(f"--agents: not installed: {', '.join(missing)}")
    if not agents:
        raise UsageError("no agent to run: none of agents.enabled is installed")

    repo = GitRepository(workspace.repo_path)
    try:
        await asyncio.to_thread(repo.prune_stale_worktrees)  # left by a killed run
        shas = await asyncio.to_thread(select_commits, repo, request)
        store = await workspace.open_store()
        reports: list[CommitReport] = []
        try:
            gate_notes = await sla_gate(store, workspace, request.sla_gate)
            executor, runner = distributed_runner(store, workspace)
            service = AnalysisService(store, workspace, agents=agents, repo=repo, runner=runner)
            try:
                for sha in shas:
                    reports.append(
                        await service.analyze(
                            sha, analyze_all=request.analyze_all, rerun=request.rerun
                        )
                    )
            finally:
                if executor is not None:
                    gate_notes.extend(dict.fromkeys(executor.problems))
                    await executor.close()
            from controlroom.core.queue import TaskQueue

            queue_counts = await TaskQueue(store, config).counts_by_state()
            sections = await side_sections(store, workspace)
        finally:
            await store.close()
            # Only a run cut off by its timeout (or an error) can leave children behind: collect
            # them while the loop runs (a full GC pass costs ~50 ms, so not on every clean run).
            if len(reports) < len(shas) or any(
                run.status is not RunStatus.OK for report in reports for run in report.runs
            ):
                await close_leftover_children()
    finally:
        repo.close()

    report = build_report(workspace.repo_path, reports, queue_counts, started)
    report.update(sections)
    notes: list[str] = report["notes"]
    notes.extend(gate_notes)
    notes.extend(note for r in reports for note in r.notes if "already analyzed" in note)
    notes.extend(timeout_notes(reports))
    report["totals"]["agents_timed_out"] = sum(
        1 for r in reports for run in r.runs if run.status is RunStatus.TIMEOUT
    )
    notes.extend(f"agent {name!r} is enabled but not installed: skipped" for name in missing)
    llm = report.get("llm", {})
    if llm.get("state") not in (None, "online", "no-key", "disabled"):
        message = str(llm.get("message", llm.get("state")))
        notes.append(message if message.startswith("Claude") else f"LLM offline: {message}")
    code = exit_code_for(report, request.fail_on)
    report = redact_data(report)  # no secret of the environment leaves in the report
    report["exit_code"] = int(code)
    return HeadlessResult(report=report, exit_code=code)


def distributed_runner(store: Store, workspace: Workspace) -> tuple[Any, Any]:
    """With ``[subagents] backend = "celery"`` agent runs go to Celery workers (docs/distributed.md);
    otherwise (None, None): agents run in this process."""
    from controlroom.core.subagents.celery_settings import backend_of

    if backend_of(workspace.config) != "celery":
        return None, None
    from controlroom.core.subagents.backends import build_executor
    from controlroom.core.subagents.executor import agent_runner
    from controlroom.core.timeouts import scaled

    executor = build_executor(store, workspace)
    return executor, agent_runner(executor, timeout=scaled(workspace.config))


async def sla_gate(store: Store, workspace: Workspace, mode: str) -> list[str]:
    """The pre-flight gate: run the SLAs named in ``sla.gate`` before analyzing."""
    if mode == "off" or not workspace.config.get("sla.gate"):
        return []
    from controlroom.core.sla import gate

    result = await gate(store, workspace.config, fresh=True, base_dir=workspace.repo_path)
    warning = result.warning
    if warning is None:  # result.ok
        return []
    if mode == "strict":
        raise SlaGateError(f"SLA gate (strict): {warning}")
    return [warning]


# The SLA block of a report when no check is configured: what ``sla_summary`` returns then
# (tests/unit/test_headless.py checks they agree), without importing the SLA machinery.
NO_SLA_CHECKS: dict[str, Any] = {
    "checks": 0,
    "ok": 0,
    "violated": 0,
    "no_data": 0,
    "alerting": 0,
    "critical_violations": 0,
    "items": [],
}


async def side_sections(store: Store, workspace: Workspace) -> dict[str, Any]:
    """SLA status (every configured check run once) and the LLM block, for the report."""
    from controlroom.core.llm.status import llm_summary

    config: Config = workspace.config
    if not config.get("sla.checks"):
        return {"sla": dict(NO_SLA_CHECKS, items=[]), "llm": await llm_summary(store, config)}
    from controlroom.core.sla import run_all_once, sla_summary

    await run_all_once(store, config, base_dir=workspace.repo_path)
    return {
        "sla": await sla_summary(store, config),
        "llm": await llm_summary(store, config),
    }


def timeout_notes(reports: list[CommitReport]) -> list[str]:
    """One line per agent cut off by its timeout: what is missing and which settings give it time."""
    notes = []
    for report in reports:
        files = len(report.change.python_files())
        for run in report.runs:
            if run.status is not RunStatus.TIMEOUT:
                continue
            kept = len(run.output.findings)
            notes.append(
                f"agent {run.agent!r} {run.error or 'timed out'} on {report.change.short} "
                f"({files} changed Python files): its findings are "
                + (f"partial ({kept} kept)" if kept else "missing")
                + "; the other agents' findings count; give it more time with agents.timeout, "
                "agents.timeout_per_file or agents.timeout_max"
            )
    return notes


def select_commits(repo: GitRepository, request: HeadlessRequest) -> list[str]:
    """HEAD, ``--commit``, or every commit after ``--since`` up to HEAD (oldest first)."""
    head = repo.head_sha()
    if head is None:
        raise RepositoryError(f"the repository {repo.root} has no commits yet: nothing to analyze")
    if request.commit:
        return [repo.resolve(request.commit)]
    if request.since:
        return repo.commits_between(repo.resolve(request.since), head)
    return [head]


def build_report(
    repo_path: Path, reports: list[CommitReport], queue_counts: dict[str, int], started: float
) -> dict[str, Any]:
    """The ``controlroom.run-once/1`` report of the analyzed commits."""
    commits = [r.to_dict() for r in reports]
    severities = [f["severity"] for c in commits for f in c["findings"]]
    totals: dict[str, Any] = {
        "commits": len(commits),
        "findings": len(severities),
        "agents_failed": sum(1 for c in commits for a in c["agents"] if a["status"] != "ok"),
        "tasks_created": sum(len(c["tasks"]["created"]) for c in commits),
        "tasks_updated": sum(len(c["tasks"]["updated"]) for c in commits),
        "tasks_resolved": sum(len(c["tasks"]["resolved"]) for c in commits),
    }
    for severity in Severity:
        totals[severity.value] = severities.count(severity.value)
    return {
        "schema": REPORT_SCHEMA,
        "repository": str(repo_path),
        "duration_s": round(time.perf_counter() - started, 4),
        "commits": commits,
        "totals": totals,
        "queue": queue_counts,
        "notes": [],
    }


def exit_code_for(report: dict[str, Any], fail_on: str) -> ExitCode:
    """THRESHOLD when a finding reaches ``fail_on`` or a critical SLA is violated, else OK."""
    threshold = FAIL_ON.get(fail_on)
    if threshold is None:
        return ExitCode.OK
    if report.get("sla", {}).get("critical_violations"):
        return ExitCode.THRESHOLD
    worst = max(
        (Severity(f["severity"]).rank for c in report["commits"] for f in c["findings"]),
        default=-1,
    )
    return ExitCode.THRESHOLD if worst >= threshold.rank else ExitCode.OK
