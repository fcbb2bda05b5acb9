"""``controlroom git-stats``: how the repository moves (velocity, branches, merges, style)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from controlroom.core.errors import UsageError
from controlroom.core.gitmetrics import GitStats, collect_git_stats
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "git-stats", parents=[common], help="commit velocity, branches, merges, commit style"
    )
    parser.add_argument(
        "--days",
        type=arguments.days,
        metavar="N",
        help="window in days (default correlator.git_window_days)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    days = args.days
    if days is None:
        from controlroom.core.correlator.settings import CorrelatorSettings  # psutil: only when run

        days = CorrelatorSettings.from_config(workspace.config).git_window_days
    if days <= 0:
        raise UsageError(f"--days must be greater than 0, not {days:g}")
    stats = collect_git_stats(workspace.repo_path, days=days)
    if args.json:
        sys.stdout.write(json.dumps(stats.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(render(stats))
    return 0


def render(stats: GitStats) -> str:
    until = datetime.fromtimestamp(stats.until, UTC).strftime("%Y-%m-%d %H:%M UTC")
    active = ", ".join(stats.active_branches[:8]) or "none"
    if len(stats.active_branches) > 8:
        active += f", ... ({len(stats.active_branches)})"
    if stats.conventional_percent is None:
        style = "n/a (no non-merge commits)"
    else:
        style = (
            f"{stats.conventional_percent:.1f}% ({stats.conventional_ok} of "
            f"{stats.conventional_checked} non-merge commits)"
        )
    lines = [
        f"git stats for the last {stats.window_days:g} days (until {until})",
        f"  commits          {stats.commits} ({stats.per_hour:.3f}/hour, {stats.per_day:.2f}/day, "
        f"{stats.per_week:.2f}/week; {stats.commits_last_day} in the last day, "
        f"{stats.commits_last_week} in the last week)",
        f"  authors          {stats.authors}",
        f"  branches         {stats.branches_total} (active: {active})",
        f"  branch switches  {stats.branch_switches} ({stats.switches_per_day:.2f}/day)",
        f"  merges           {stats.merges} ({stats.conflict_merges} with conflicts)",
        f"  conventional     {style}",
    ]
    for subject in stats.non_conventional_examples:
        lines.append(f"    not conventional: {subject[:70]}")
    return "\n".join(terminal_safe(line) for line in lines) + "\n"
