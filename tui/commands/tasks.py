"""``controlroom tasks``: the queue for scripts and SSH sessions."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime

from controlroom.core.errors import UsageError
from controlroom.core.learning import learning_note
from controlroom.core.model import Task, TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.taskfilter import OPEN_STATES
from controlroom.core.taskview import TaskView, severity_floor
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe
from controlroom.tui.format import age

HEADER = f"{'id':>6} {'state':<9} {'severity':<8} {'conf':<4} {'age':>4}  file:line rule message"


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("tasks", parents=[common], help="list tasks in the queue")
    parser.add_argument(
        "--state",
        action="append",
        choices=[*(s.value for s in TaskState), "open", "all"],
        help="only tasks in this state (repeatable; default: open = pending, approved, snoozed; "
        "all: every state)",
    )
    parser.add_argument(
        "--search",
        metavar="FILTER",
        help='the TUI\'s filter: words (ANDed), "phrases", rule: path: message: symbol: agent: '
        "sev:>=high state:, -term negates (docs/keys.md)",
    )
    parser.add_argument(
        "--limit", type=arguments.count, default=100, help="at most N tasks (default 100)"
    )
    parser.add_argument(
        "--all-severities",
        action="store_true",
        help="also the tasks below [queue] min_severity (default medium: low and info nitpicks)",
    )
    parser.add_argument("--json", action="store_true", help="JSON lines, one task each")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


def chosen_states(names: list[str] | None) -> tuple[TaskState, ...] | None:
    """The --state values as states; ``None`` for every state."""
    if not names:
        return OPEN_STATES
    if "all" in names:
        return None
    states: set[TaskState] = set()
    for name in names:
        states.update(OPEN_STATES if name == "open" else (TaskState(name),))
    return tuple(s for s in TaskState if s in states)


def _describe(names: list[str] | None) -> str:
    if not names:
        return "open tasks"
    if "all" in names:
        return "tasks"
    return f"tasks in state {', '.join(dict.fromkeys(names))}"


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _run(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        queue = TaskQueue(store, workspace.config)
        try:
            states = chosen_states(args.state)
            floor = severity_floor(workspace.config, args.search, show_all=args.all_severities)
            view = TaskView(min_severity=floor)
            tasks = await queue.list(states=states, search=args.search, limit=args.limit, view=view)
            _, below, learned = await queue.fold(states=states, search=args.search, view=view)
        except ValueError as exc:
            raise UsageError(f"--search: {exc}") from None
    finally:
        await store.close()
    if args.json:
        for task in tasks:
            sys.stdout.write(json.dumps(_record(task)) + "\n")
        return 0
    by_learning = f", {learned:,} of them hidden by learning" if learned else ""
    hidden = (
        f"{below:,} {'task' if below == 1 else 'tasks'} below {floor} not shown{by_learning} "
        "(--all-severities lists them)\n"
        if below
        else ""
    )
    if not tasks:
        matching = f" match {terminal_safe(args.search)!r}" if args.search else ""
        sys.stdout.write(f"no {_describe(args.state)}{matching}\n{hidden}")
        return 0
    now = time.time()
    sys.stdout.write(HEADER + "\n")
    for task in tasks:
        sys.stdout.write(_line(task, now) + "\n")
    sys.stdout.write(hidden)
    return 0


def _line(task: Task, now: float) -> str:
    line = (
        f"{task.id:>6} {task.state.value:<9} {task.severity.value:<8} "
        f"{task.confidence:.2f} {age(now, task.created_at):>4}  "
        f"{terminal_safe(task.path)}:{task.line} "
        f"{terminal_safe(task.rule)} {terminal_safe(task.message[:60])}"
    )
    if task.state is TaskState.SNOOZED and task.snoozed_until is not None:
        line += f"  (snoozed until {_utc(task.snoozed_until)})"
    return line


def _record(task: Task) -> dict:
    return {
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
        "snoozed_until": task.snoozed_until,
    }
