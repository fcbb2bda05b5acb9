"""``controlroom tasks``: the queue for scripts and SSH sessions."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from controlroom.core.learning import learning_note
from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.format import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("tasks", parents=[common], help="list tasks in the queue")
    parser.add_argument(
        "--state",
        action="append",
        choices=[s.value for s in TaskState],
        help="only tasks in this state (repeatable; default: all)",
    )
    parser.add_argument("--search", metavar="TEXT", help="only tasks whose rule/path/message match")
    parser.add_argument(
        "--limit", type=arguments.count, default=100, help="at most N tasks (default 100)"
    )
    parser.add_argument("--json", action="store_true", help="JSON lines, one task each")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        queue = TaskQueue(store, workspace.config)
        tasks = await queue.list(states=args.state, search=args.search, limit=args.limit)
    finally:
        await store.close()
    now = time.time()
    for task in tasks:
        if args.json:
            record = {
                "id": task.id,
                "state": task.state.value,
                "severity": task.severity.value,
                "priority": task.priority,
                "confidence": task.confidence,
                "confidence_reason": task.confidence_reason,
                "learning": learning_note(task.confidence_reason),
                "agents": task.agents,
                "rule": task.rule,
                "path": task.path,
                "line": task.line,
                "symbol": task.symbol,
                "message": task.message,
                "fingerprint": task.fingerprint,
                "seen_count": task.seen_count,
                "first_seen_commit": task.first_seen_commit,
                "last_seen_commit": task.last_seen_commit,
                "created_at": task.created_at,
                "updated_at": task.updated_at,
            }
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            age_h = (now - task.created_at) / 3600
            sys.stdout.write(
                f"{task.id:>6} {task.state.value:<9} {task.severity.value:<8} "
                f"{task.confidence:.2f} {terminal_safe(task.path)}:{task.line} "
                f"{terminal_safe(task.rule)} {terminal_safe(task.message[:60])} ({age_h:.0f}h)\n"
            )
    return 0
