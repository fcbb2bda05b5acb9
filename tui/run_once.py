"""``controlroom --run-once``: one full cycle (analyze, converge, enqueue) without the Textual app.

The report's JSON schema is documented in docs/run-once.md; exit codes in core.errors.ExitCode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from controlroom.core.analysis import load_enabled_agents
from controlroom.core.children import close_leftover_children
from controlroom.core.errors import ControlroomError, ExitCode, UsageError
from controlroom.core.model import RunStatus, Severity
from controlroom.core.secrets import redact_data
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import diagnostics
from controlroom.tui.format import terminal_safe


class SlaGateError(ControlroomError):
    exit_code = ExitCode.SLA_GATE


REPORT_SCHEMA = "controlroom.run-once/1"
FAIL_ON = {"critical": Severity.CRITICAL, "high": Severity.HIGH, "medium": Severity.MEDIUM}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("headless (--run-once)")
    group.add_argument("--run-once", action="store_true", help="analyze once, print a report, exit")
    which = group.add_mutually_exclusive_group()
    which.add_argument("--commit", metavar="REF", help="analyze this commit (default: HEAD)")
    which.add_argument("--since", metavar="REF", help="analyze every commit after REF up to HEAD")
    group.add_argument("--all", action="store_true", help="whole files, not only changed lines")
    group.add_argument(
        "--rerun",
        action="store_true",
        help="analyze again what an earlier run (or the TUI, or the hook) already analyzed",
    )
    group.add_argument("--json", action="store_true", help="print the report as JSON")
    group.add_argument(
        "--fail-on",
        choices=["critical", "high", "medium", "never"],
        default="never",
        help="exit 1 when a finding at or above this severity is found (default: never)",
    )
    group.add_argument("--quiet", action="store_true", help="print nothing but errors")
    group.add_argument(
        "--agents", metavar="LIST", help="comma-separated agents to run (default: agents.enabled)"
    )
    group.add_argument(
        "--sla-gate",
        choices=["off", "warn", "strict"],
        default="warn",
        help="check the SLAs in sla.gate first: warn records 'analysis ran on stale data', "
        "strict aborts with exit 4 (default: warn)",
    )
    group.add_argument("--model", metavar="MODEL", help="use this Claude model for every call")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    overrides = {"llm.model": args.model} if getattr(args, "model", None) else None
    workspace = resolve_workspace(args.repo, args.db, args.config, overrides)
    config = workspace.config
    names = (
        [n.strip() for n in args.agents.split(",") if n.strip()]
        if args.agents
        else list(config.get("agents.enabled", []))
    )
    agents, missing = load_enabled_agents(config, names)
    if args.agents and missing:
        raise UsageError(f"--agents: not installed: {', '.join(missing)}")
    if not agents:
        raise UsageError("no agent to run: none of agents.enabled is installed")

    from controlroom.core.analysis import AnalysisService
    from controlroom.core.git import GitRepository
    from controlroom.core.queue import TaskQueue

    repo = GitRepository(workspace.repo_path)
    try:
        await asyncio.to_thread(repo.prune_stale_worktrees)  # left by a killed run
        shas = await asyncio.to_thread(_select_commits, repo, args)
        store = await workspace.open_store()
        reports: list[Any] = []
        try:
            gate_notes = await _sla_gate(store, workspace, args.sla_gate)
            executor, runner = _distributed_runner(store, workspace)
            service = AnalysisService(store, workspace, agents=agents, repo=repo, runner=runner)
            try:
                for sha in shas:  # claimed: another run, the TUI or the hook never runs it at once
                    reports.append(
                        await service.analyze(
                            sha, analyze_all=args.all, rerun=getattr(args, "rerun", False)
                        )
                    )
            finally:
                if executor is not None:
                    gate_notes.extend(dict.fromkeys(executor.problems))
                    await executor.close()
            queue_counts = await TaskQueue(store, config).counts_by_state()
            sections = await _side_sections(store, workspace)
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
    report["notes"].extend(gate_notes)
    report["notes"].extend(note for r in reports for note in r.notes if "already analyzed" in note)
    report["notes"].extend(timeout_notes(reports))
    report["totals"]["agents_timed_out"] = sum(
        1 for r in reports for run in r.runs if run.status is RunStatus.TIMEOUT
    )
    for name in missing:
        report["notes"].append(f"agent {name!r} is enabled but not installed: skipped")
    llm = report.get("llm", {})
    if llm.get("state") not in (None, "online", "no-key", "disabled"):
        message = str(llm.get("message", llm.get("state")))
        report["notes"].append(
            message if message.startswith("Claude") else f"LLM offline: {message}"
        )
    code = exit_code_for(report, args.fail_on)
    report = redact_data(report)  # no secret of the environment leaves in the report
    report["exit_code"] = int(code)
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif not args.quiet:
        sys.stdout.write(human_summary(report))
    for note in report["notes"]:
        if not args.json and not args.quiet:
            diagnostics.warn(note)
    return code


def _distributed_runner(store: Any, workspace: Any) -> tuple[Any, Any]:
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


async def _sla_gate(store: Any, workspace: Any, mode: str) -> list[str]:
    """The pre-flight gate: run the SLAs named in ``sla.gate`` before analyzing."""
    if mode == "off" or not workspace.config.get("sla.gate"):
        return []
    from controlroom.core.sla import gate

    result = await gate(store, workspace.config, fresh=True, base_dir=workspace.repo_path)
    if result.ok:
        return []
    if mode == "strict":
        raise SlaGateError(f"SLA gate (strict): {result.warning}")
    return [result.warning]


async def _side_sections(store: Any, workspace: Any) -> dict[str, Any]:
    """SLA status (every configured check run once) and the LLM block, for the report."""
    from controlroom.core.llm.status import llm_summary
    from controlroom.core.sla import run_all_once, sla_summary

    config = workspace.config
    if config.get("sla.checks"):
        await run_all_once(store, config, base_dir=workspace.repo_path)
    return {
        "sla": await sla_summary(store, config),
        "llm": await llm_summary(store, config),
    }


def timeout_notes(reports: list) -> list[str]:
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


def _select_commits(repo: Any, args: argparse.Namespace) -> list[str]:
    head = repo.head_sha()
    if head is None:
        from controlroom.core.errors import RepositoryError

        raise RepositoryError(f"the repository {repo.root} has no commits yet: nothing to analyze")
    if args.commit:
        return [repo.resolve(args.commit)]
    if args.since:
        since = repo.resolve(args.since)
        return repo.commits_between(since, head)
    return [head]


def build_report(
    repo_path: Any, reports: list, queue_counts: dict[str, int], started: float
) -> dict:
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


def exit_code_for(report: dict, fail_on: str) -> ExitCode:
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


def human_summary(report: dict) -> str:
    """The report for a terminal: repository text (subjects, paths, messages, errors) has its
    control characters escaped, so each line stays one line and nothing reaches the terminal raw."""
    lines = []
    for commit in report["commits"]:
        agents = ", ".join(
            f"{a['agent']} {a['status']} {a['duration_s']:.2f}s ({a['findings']})"
            for a in commit["agents"]
        )
        tasks = commit["tasks"]
        lines.append(f"{commit['sha'][:10]} {commit['subject'][:60]}")
        lines.append(f"  agents: {agents}")
        lines.append(
            f"  findings {len(commit['findings'])}, consensus {commit['consensus']}, "
            f"critical {commit['critical']}; tasks +{len(tasks['created'])} "
            f"~{len(tasks['updated'])} resolved {len(tasks['resolved'])}"
        )
        for agent in commit["agents"]:
            if agent["error"]:
                lines.append(f"  ! {agent['agent']}: {agent['error']}")
        for skipped in commit["skipped_files"]:
            lines.append(f"  skipped {skipped['path']}: {skipped['reason']}")
        shown = sorted(commit["findings"], key=lambda f: -Severity(f["severity"]).rank)[:15]
        for finding in shown:
            lines.append(
                f"  {finding['severity']:<8} {finding['path']}:{finding['line']} "
                f"{finding['rule']} {finding['message'][:70]}"
            )
        if len(commit["findings"]) > len(shown):
            lines.append(f"  ... and {len(commit['findings']) - len(shown)} more")
    sla = report.get("sla") or {}
    if sla.get("checks"):
        lines.append(
            f"SLA: {sla['checks']} checks, {sla['ok']} ok, {sla['violated']} violated "
            f"({sla['critical_violations']} critical), {sla['no_data']} no data"
        )
    llm = report.get("llm") or {}
    if llm:
        lines.append(
            f"LLM: {llm['state']}; today ${llm['today_usd']:.4f} in {llm['calls_today']} calls, "
            f"month ${llm['month_usd']:.4f}"
        )
        for alert in llm.get("alerts", []):
            lines.append(f"  budget: {alert.get('message', alert)}")
    totals = report["totals"]
    queue = ", ".join(f"{state} {n}" for state, n in sorted(report["queue"].items())) or "empty"
    lines.append(
        f"{totals['commits']} commit(s), {totals['findings']} finding(s) "
        f"({totals['critical']} critical, {totals['high']} high) in {report['duration_s']:.2f}s; "
        f"queue: {queue}"
    )
    return "\n".join(terminal_safe(line) for line in lines) + "\n"
