"""``controlroom branches [--json] | diff NAME | merge NAME [--yes] | delete NAME [--yes]``: the
branches ``apply`` made, their diff, merging one onto the current branch, deleting one."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from controlroom.core.branches import Branches, BranchInfo, annotate
from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.workspace import Workspace, resolve_workspace
from controlroom.tui.escape import terminal_safe

ACTIONS = ("list", "diff", "merge", "delete")


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "branches",
        parents=[common],
        help="the branches apply made: list, diff, merge onto the current branch, delete",
    )
    parser.add_argument("action", nargs="?", default="list", choices=ACTIONS)
    parser.add_argument("name", nargs="?", metavar="NAME", help="a branch (controlroom/task-7)")
    parser.add_argument("--json", action="store_true", help="list: one JSON object per branch")
    parser.add_argument("--yes", action="store_true", help="merge/delete without asking")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        if args.name:
            raise UsageError(f"branches: list takes no branch name ({args.name!r})")
    elif not args.name:
        raise UsageError(f"branches: {args.action} needs a branch: branches {args.action} NAME")
    workspace = resolve_workspace(args.repo, args.db, args.config)
    branches = Branches(workspace.repo_path, str(workspace.config.get("apply.branch_prefix")))
    if args.action == "list":
        return _list(workspace, branches, args.json)
    if args.action == "diff":
        sys.stdout.write(terminal_safe(branches.diff(args.name), multiline=True))
        return int(ExitCode.OK)
    info = branches.get(args.name)
    target = branches.current() or "HEAD"
    question = (
        f"merge {info.name} ({info.ahead} commit(s)) onto {target}?"
        if args.action == "merge"
        else f"delete branch {info.name} ({info.tip[:12]})?"
    )
    if not args.yes and not _confirm(args.action, question):
        _say("nothing done")
        return int(ExitCode.OK)
    if args.action == "merge":
        _say(branches.merge(info.name).line(target))
    else:
        branches.delete(info.name)
        _say(f"deleted {info.name} (was {info.tip[:12]})")
    return int(ExitCode.OK)


def _confirm(action: str, question: str) -> bool:
    """Ask on a terminal; without one, a usage error (exit 2) saying to pass --yes."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"branches: {action} asks for confirmation: pass --yes (no terminal)")
    sys.stdout.write(terminal_safe(question) + " [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _list(workspace: Workspace, branches: Branches, as_json: bool) -> int:
    found = branches.all()

    async def fill() -> list[BranchInfo]:
        store = await workspace.open_store()
        try:
            return await annotate(store, found)
        finally:
            await store.close()

    found = asyncio.run(fill())
    if as_json:
        for info in found:
            sys.stdout.write(json.dumps(info.as_dict(), sort_keys=True) + "\n")
        return int(ExitCode.OK)
    if not found:
        _say(f"no {branches.prefix}* branch")
    for info in found:
        _say(line(info))
    return int(ExitCode.OK)


def line(info: BranchInfo) -> str:
    """One branch on one line: name, tip, ahead/behind, state, task, verification."""
    state = "merged" if info.merged else "open"
    owner = "" if info.ours else " not-controlroom's"
    where = f" {info.rule} {info.path}:{info.line}" if info.rule else ""
    check = f" | {info.verification}" if info.verification else ""
    return (
        f"{info.name} {info.tip[:12]} +{info.ahead}/-{info.behind} {state}{owner}{where}"
        f" | {info.subject}{check}"
    )


def _say(text: str) -> None:
    sys.stdout.write(terminal_safe(text) + "\n")
