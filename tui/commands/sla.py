"""``controlroom sla [--json]`` runs every SLA check once; ``sla ping NAME``; ``sla ack NAME``;
``sla alerts [--json]``. Exit 0 when every check passed, 1 when one is violated (see docs/sla.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.secrets import redact_data
from controlroom.core.sla.definitions import load_checks
from controlroom.core.sla.durations import format_duration
from controlroom.core.workspace import Workspace, resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe

# core.sla's check kinds import psutil: loaded inside the handlers, so building the parser stays light.


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "sla", parents=[common], help="run every data-freshness SLA check once and print results"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--check", action="append", metavar="NAME", help="only this check (repeatable)"
    )
    parser.set_defaults(handler=run_checks)
    actions = parser.add_subparsers(dest="sla_command", metavar="ACTION", parser_class=type(parser))
    ping = actions.add_parser(
        "ping", parents=[common], help="record a heartbeat for a heartbeat check"
    )
    ping.add_argument("name", metavar="NAME")
    ping.add_argument("--note", help="a short note stored with the ping")
    ping.set_defaults(handler=run_ping)
    ack = actions.add_parser(
        "ack",
        parents=[common],
        help="acknowledge a violated check: reminders stop until it recovers",
    )
    ack.add_argument("name", metavar="NAME")
    ack.add_argument("--by", default="operator", help="who acknowledges (default: operator)")
    ack.set_defaults(handler=run_ack)
    alerts = actions.add_parser("alerts", parents=[common], help="the latest SLA alerts")
    alerts.add_argument("--json", action="store_true", help="one JSON object on stdout")
    alerts.add_argument("--limit", type=arguments.count, default=50)
    alerts.set_defaults(handler=run_alerts)


def _with_store(workspace: Workspace, work: Callable[[Any], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = await workspace.open_store()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return format_duration(value) if unit == "s" else f"{value:.1f}{unit}"


def run_checks(args: argparse.Namespace) -> int:
    from controlroom.core.sla import run_all_once

    workspace = resolve_workspace(args.repo, args.db, args.config)
    checks = {c.name: c for c in load_checks(workspace.config)}
    unknown = [n for n in args.check or [] if n not in checks]
    if unknown:
        raise UsageError(f"no SLA check named {', '.join(unknown)}")
    results = _with_store(
        workspace,
        lambda store: run_all_once(
            store, workspace.config, names=args.check, base_dir=workspace.repo_path
        ),
    )
    violated = [r for r in results if not r.ok]
    if args.json:
        body = {
            "checks": len(results),
            "ok": len(results) - len(violated),
            "violated": len(violated),
            "results": [
                {
                    **r.as_dict(),
                    "severity": checks[r.check_name].severity,
                    "group": checks[r.check_name].group,
                }
                for r in results
            ],
        }
        print(json.dumps(redact_data(body), indent=2))
    elif not results:
        print(
            "no SLA checks configured: add [[sla.checks]] to controlroom.toml, "
            "see data/sla.example.toml"
        )
    else:
        width = max(len(r.check_name) for r in results)
        for r in results:
            check = checks[r.check_name]
            print(
                terminal_safe(
                    f"{r.status.upper():<8} {r.check_name:<{width}}  "
                    f"{_value(r.value, check.unit):>8} / {_value(r.threshold, check.unit):<8} "
                    f"{check.severity:<8} {r.message}"
                )
            )
        print(f"{len(results) - len(violated)} ok, {len(violated)} violated")
    return ExitCode.THRESHOLD if violated else ExitCode.OK


def run_ping(args: argparse.Namespace) -> int:
    from controlroom.core.sla import record_ping

    workspace = resolve_workspace(args.repo, args.db, args.config)
    at = _with_store(
        workspace, lambda store: record_ping(store, workspace.config, args.name, note=args.note)
    )
    print(f"pinged {args.name} at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(at))}")
    return ExitCode.OK


def run_ack(args: argparse.Namespace) -> int:
    from controlroom.core.sla import acknowledge

    workspace = resolve_workspace(args.repo, args.db, args.config)
    known = [c.name for c in load_checks(workspace.config)]
    if args.name not in known:
        listed = f"; the checks are {', '.join(known)}" if known else "; none is configured"
        raise UsageError(f"sla ack: no SLA check named {args.name!r}{listed}")
    alert = _with_store(
        workspace, lambda store: acknowledge(store, args.name, now=time.time(), by=args.by)
    )
    print(terminal_safe(alert.message))
    return ExitCode.OK


def run_alerts(args: argparse.Namespace) -> int:
    from controlroom.core.sla import list_alerts

    workspace = resolve_workspace(args.repo, args.db, args.config)
    alerts = _with_store(workspace, lambda store: list_alerts(store, limit=args.limit))
    if args.json:
        print(json.dumps({"alerts": [a.as_dict() for a in alerts]}, indent=2))
        return ExitCode.OK
    if not alerts:
        print("no SLA alerts")
    for alert in alerts:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(alert.at))
        print(terminal_safe(f"{when}  {alert.kind:<12} {alert.severity:<8} {alert.message}"))
    return ExitCode.OK
