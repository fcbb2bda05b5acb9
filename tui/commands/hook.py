"""``controlroom hook install|uninstall``: the post-commit hook."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from controlroom.core import hooks
from controlroom.core.workspace import resolve_workspace


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "hook", parents=[common], help="install or remove the post-commit hook"
    )
    parser.add_argument(
        "action", choices=["install", "uninstall", "run"], metavar="{install,uninstall}"
    )
    parser.add_argument("--force", action="store_true", help="replace a hook that is not ours")
    parser.add_argument(
        "--agents", metavar="LIST", help="install: agents the hook runs (default: agents.enabled)"
    )
    parser.add_argument("--sha", help=argparse.SUPPRESS)  # run: the commit the hook queues
    parser.set_defaults(handler=run)


def _executable() -> str:
    argv0 = Path(sys.argv[0])
    if argv0.name == "controlroom" and argv0.exists():
        return str(argv0.resolve())
    return shutil.which("controlroom") or "controlroom"


def run(args: argparse.Namespace) -> int:
    if args.action == "run":  # what the installed hook starts (hidden from --help)
        from controlroom.tui import hook_runner

        return hook_runner.run(args)
    workspace = resolve_workspace(args.repo, args.db, args.config)
    if args.action == "install":
        from controlroom.core.paths import state_dir

        state_dir(workspace.repo_path)  # refuses a planted .controlroom before installing
        db = Path(args.db).resolve() if args.db else None
        target = hooks.install(
            workspace.repo_path, _executable(), db=db, force=args.force, agents=args.agents
        )
        sys.stdout.write(f"installed {target}\n")
    else:
        removed = hooks.uninstall(workspace.repo_path)
        sys.stdout.write(f"removed {removed}\n" if removed else "no post-commit hook installed\n")
    return 0
