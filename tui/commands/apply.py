"""``controlroom apply TASK_ID... | --approved``: carry out approved tasks, verified, on branches."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from controlroom.core.analysis import fixing_agents
from controlroom.core.apply import ApplyResult, apply_approved, apply_task
from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.git import GitRepository
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "apply",
        parents=[common],
        help="carry out approved tasks: fix, verify, commit on controlroom/task-<id>",
    )
    parser.add_argument("task_ids", type=arguments.task_id, nargs="*", metavar="TASK_ID")
    parser.add_argument("--approved", action="store_true", help="every approved task")
    parser.add_argument("--json", action="store_true", help="one JSON object per task")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_selection(args.task_ids, args.approved)
    return asyncio.run(_run(args))


def check_selection(task_ids: list[int], approved: bool) -> None:
    """Either task ids or ``--approved``, never both, never neither (UsageError, exit 2)."""
    if approved and task_ids:
        ids = " ".join(str(t) for t in task_ids)
        raise UsageError(
            f"apply: --approved already takes every approved task; drop the task ids ({ids}) "
            f"or drop --approved"
        )
    if not approved and not task_ids:
        raise UsageError(
            "apply: which tasks? give their ids (controlroom apply 12 15) "
            "or --approved for every approved task"
        )


async def _run(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    agents = fixing_agents(workspace.config)
    repo = GitRepository(workspace.repo_path)
    store = await workspace.open_store()
    results: list[ApplyResult] = []
    try:
        await asyncio.to_thread(repo.prune_stale_worktrees)  # left by a killed run
        if args.approved:
            results = await apply_approved(
                store, workspace, agents=agents, repo=repo, report=_printer(args)
            )
        else:
            for task_id in args.task_ids:  # printed as each one ends: a later error keeps them
                results.append(
                    await apply_task(store, workspace, task_id, agents=agents, repo=repo)
                )
                _printer(args)(results[-1])
    finally:
        await store.close()
        repo.close()
    if args.approved and not results and not args.json:
        sys.stdout.write("no approved task\n")
    failed = any(r.state == "failed" for r in results)
    return int(ExitCode.THRESHOLD if failed else ExitCode.OK)


def _printer(args: argparse.Namespace):
    def report(result: ApplyResult) -> None:
        sys.stdout.write(_line(result, args.json) + "\n")
        sys.stdout.flush()

    return report


def _line(result: ApplyResult, as_json: bool) -> str:
    if as_json:
        return json.dumps(result.as_dict(), sort_keys=True)
    return terminal_safe(f"task {result.task_id}: {result.state}: {result.summary}")
