"""``controlroom --run-once``: the flags, and the printing of the headless cycle's report.

The cycle itself (what runs, the report, the SLA gate, the exit code) is ``core.headless``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from controlroom.core.model import Severity
from controlroom.tui import diagnostics
from controlroom.tui.escape import terminal_safe


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
    """Run the headless cycle for ``args`` and print its report; the exit code is the report's."""
    from controlroom.core.headless import HeadlessRequest, run_headless

    request = HeadlessRequest(
        repo=args.repo,
        db=args.db,
        config=args.config,
        model=getattr(args, "model", None),
        agents=args.agents,
        commit=args.commit,
        since=args.since,
        analyze_all=args.all,
        rerun=getattr(args, "rerun", False),
        sla_gate=args.sla_gate,
        fail_on=args.fail_on,
    )
    result = asyncio.run(run_headless(request))
    if args.json:
        json.dump(result.report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif not args.quiet:
        sys.stdout.write(human_summary(result.report))
        for note in result.notes:
            diagnostics.warn(note)
    return int(result.exit_code)


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
