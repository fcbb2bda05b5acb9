"""``controlroom decide TASK_ID approve|reject|snooze|reopen`` and ``controlroom undo``: the queue keys for scripts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments

VERBS = {
    "approve": TaskState.APPROVED,
    "reject": TaskState.REJECTED,
    "snooze": TaskState.SNOOZED,
    "reopen": TaskState.PENDING,
}


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "decide", parents=[common], help="approve, reject, snooze or reopen a task"
    )
    parser.add_argument("task_id", type=arguments.task_id, metavar="TASK_ID")
    parser.add_argument("verb", choices=sorted(VERBS))
    parser.add_argument("--reason", metavar="TEXT", help="a one-line reason, kept in the log")
    parser.add_argument("--actor", default="operator", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)
    undo = subparsers.add_parser("undo", parents=[common], help="undo your last decision")
    undo.add_argument("--actor", default="operator", help=argparse.SUPPRESS)
    undo.set_defaults(handler=run_undo)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_decide(args))


def run_undo(args: argparse.Namespace) -> int:
    return asyncio.run(_undo(args))


async def _decide(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    reason = " ".join(args.reason.split()) if args.reason else None
    store = await workspace.open_store()
    try:
        decision = await TaskQueue(store, workspace.config).decide(
            args.task_id, VERBS[args.verb], actor=args.actor, reason=reason
        )
    finally:
        await store.close()
    sys.stdout.write(f"task {decision.task_id}: {decision.from_state} -> {decision.to_state}\n")
    return 0


async def _undo(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        undone = await TaskQueue(store, workspace.config).undo(actor=args.actor)
    finally:
        await store.close()
    if not undone:
        sys.stdout.write("nothing to undo\n")
    for decision in reversed(undone):  # in the order the bulk decided them
        sys.stdout.write(f"task {decision.task_id}: {decision.from_state} -> {decision.to_state}\n")
    return 0
