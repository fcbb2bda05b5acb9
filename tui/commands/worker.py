"""``controlroom worker``: run a sub-agent process that takes assignments from the store, or
(``--backend celery``) a Celery worker that takes them from a broker (docs/distributed.md)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import Any

from controlroom.core.errors import ControlroomError, ExitCode, UsageError
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments, diagnostics
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "worker", parents=[common], help="run a sub-agent worker process on this store"
    )
    p.add_argument("--name", help="the sub-agent's name (default: HOST-PID)")
    p.add_argument(
        "--capabilities",
        metavar="LIST",
        help="comma-separated: critic,tests,docs,impact,hobby (default: [subagents] capabilities)",
    )
    p.add_argument(
        "--max-concurrent", type=arguments.count, metavar="N", help="units at once (default 5)"
    )
    p.add_argument(
        "--heartbeat", type=arguments.seconds, metavar="SECONDS", help="heartbeat interval"
    )
    p.add_argument(
        "--poll-interval", type=arguments.seconds, metavar="SECONDS", help=argparse.SUPPRESS
    )
    p.add_argument(
        "--backend",
        choices=["store", "celery"],
        help="store: take units from the SQLite store (this machine); celery: a Celery worker"
        " consuming one queue per capability (default: [subagents] backend)",
    )
    p.add_argument(
        "--remote", metavar="URL", help="celery: where to fetch commits from (default: --repo)"
    )
    p.add_argument("--cache-dir", metavar="DIR", help="celery: where to keep the worker's clone")
    p.add_argument(
        "--loglevel", default="INFO", metavar="LEVEL", help="celery: worker log level (INFO)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from controlroom.core.subagents.settings import SubagentSettings
    from controlroom.core.subagents.worker import Worker, run_worker

    workspace = resolve_workspace(args.repo, args.db, args.config)
    settings = SubagentSettings.from_config(workspace.config)
    changes = {}
    if args.heartbeat is not None:
        if args.heartbeat <= 0:
            raise UsageError("--heartbeat must be greater than 0")
        changes["heartbeat_interval"] = args.heartbeat
    if args.poll_interval is not None:
        changes["poll_interval"] = args.poll_interval
    settings = dataclasses.replace(settings, **changes)
    if args.max_concurrent is not None and args.max_concurrent <= 0:
        raise UsageError("--max-concurrent must be greater than 0")
    capabilities = None
    if args.capabilities:
        capabilities = tuple(c.strip() for c in args.capabilities.split(",") if c.strip())
    if _backend(args, workspace) == "celery":
        return _run_celery(args, workspace, settings, capabilities)

    def ready(worker: Worker) -> None:
        print(
            terminal_safe(
                f"worker {worker.name}: capabilities {','.join(worker.capabilities)},"
                f" max {worker.max_concurrent}, store {workspace.db_path}"
            ),
            flush=True,
        )

    try:
        worker = asyncio.run(
            run_worker(
                workspace,
                name=args.name,
                capabilities=capabilities,
                max_concurrent=args.max_concurrent,
                settings=settings,
                on_ready=ready,
            )
        )
    except ValueError as exc:  # a live sub-agent already has this name
        raise UsageError(str(exc)) from None
    print(f"worker {terminal_safe(worker.name)}: stopped", flush=True)
    return int(ExitCode.OK)


def _backend(args: argparse.Namespace, workspace: Any) -> str:
    from controlroom.core.subagents.celery_settings import backend_of

    return args.backend or ("celery" if backend_of(workspace.config) == "celery" else "store")


def _run_celery(
    args: argparse.Namespace, workspace: Any, settings: Any, capabilities: tuple[str, ...] | None
) -> int:
    """A real Celery worker (docs/distributed.md); returns when it stops."""
    from controlroom.core.subagents.celery_settings import CelerySettings
    from controlroom.core.subagents.celery_worker import prepare, run_celery_worker

    celery = CelerySettings.from_config(workspace.config)
    changes = {k: v for k, v in (("remote", args.remote), ("cache_dir", args.cache_dir)) if v}
    celery = dataclasses.replace(celery, **changes)
    plan = prepare(
        celery,
        repo=workspace.repo_path,
        name=args.name,
        capabilities=capabilities or settings.capabilities,
        concurrency=args.max_concurrent or settings.max_concurrent,
        config_file=Path(args.config).resolve() if args.config else None,
    )
    print(
        terminal_safe(
            f"celery worker {plan.hostname}: queues {','.join(plan.queues)},"
            f" concurrency {plan.concurrency}, broker {celery.shown_broker},"
            f" clone {plan.clone.path}"
        ),
        flush=True,
    )
    run_celery_worker(celery, plan, loglevel=args.loglevel)
    print(f"celery worker {terminal_safe(plan.hostname)}: stopped", flush=True)
    return int(ExitCode.OK)


def main(argv: list[str] | None = None) -> int:
    """``python -m controlroom.tui.commands.worker ...``: the same command without loading every other one."""
    from controlroom.tui.cli import _Parser, common_options

    parser = _Parser(prog="controlroom")
    register(parser.add_subparsers(dest="command", parser_class=_Parser), common_options())
    args = parser.parse_args(["worker", *(argv if argv is not None else sys.argv[1:])])
    try:
        return args.handler(args)
    except ControlroomError as exc:
        return int(diagnostics.report(exc))
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
