"""``controlroom costs [--since DATE] [--json]`` and ``controlroom costs import FILE.jsonl``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.llm.costs import costs_report
from controlroom.core.llm.ledger import import_jsonl
from controlroom.core.llm.pricing import load_prices
from controlroom.core.llm.router import Router
from controlroom.core.llm.status import llm_status
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.escape import terminal_safe
from controlroom.tui.format import savings_sentence


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "costs", parents=[common], help="LLM spend: today, this week, this month; budgets"
    )
    parser.add_argument(
        "--since", metavar="DATE", help="also totals from DATE (YYYY-MM-DD, UTC) on"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run_costs)
    actions = parser.add_subparsers(
        dest="costs_command", metavar="ACTION", parser_class=type(parser)
    )
    load = actions.add_parser(
        "import", parents=[common], help="load historical usage from a JSONL file (all or nothing)"
    )
    load.add_argument("file", metavar="FILE.jsonl")
    load.set_defaults(handler=run_import)


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise UsageError(f"--since must be a date like 2026-11-01, not {value!r}") from None


def run_costs(args: argparse.Namespace) -> int:
    since = _since(args.since)
    workspace = resolve_workspace(args.repo, args.db, args.config)

    async def collect() -> dict[str, Any]:
        store = await workspace.open_store()
        try:
            report = await costs_report(store, workspace.config, since=since)
            status = await llm_status(store, workspace.config, env=os.environ)
            report["llm"] = status.to_dict()
            return report
        finally:
            await store.close()

    report = asyncio.run(collect())
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(render_text(report))
    return ExitCode.OK


def run_import(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    path = Path(args.file)
    prices = load_prices(workspace.config)
    router = Router(workspace.config)

    async def load() -> int:
        store = await workspace.open_store()
        try:
            return await import_jsonl(store, path, prices, router.family_tier)
        finally:
            await store.close()

    count = asyncio.run(load())
    print(f"imported {count} call{'s' if count != 1 else ''} from {path}")
    return ExitCode.OK


def _money(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.4f}"


def render_text(report: dict[str, Any]) -> str:
    """A plain-text summary (no colour) for the terminal."""
    lines = [f"LLM: {report['llm']['message']}"] if "llm" in report else []
    if report["empty"]:
        lines.append("no LLM calls yet: set ANTHROPIC_API_KEY to let the agents use Claude")
        return "\n".join(terminal_safe(line) for line in lines)
    for name in ("today", "week", "month"):
        p = report["periods"][name]
        flag = f"  ({p['unpriced_calls']} unpriced)" if p["unpriced_calls"] else ""
        lines.append(f"{name:<6} {_money(p['cost_usd']):>12}  {p['calls']:>7} calls{flag}")
    lines.append(f"projected month-end {_money(report['projected_month_usd'])}")
    saving = savings_sentence(report, _money)
    if saving is not None:
        lines.append(saving)
    for key in ("by_tier", "by_agent"):
        lines.append(f"{key.replace('_', ' ')} (this month):")
        name = key.removeprefix("by_")
        for row in report[key]:
            flag = f"  ({row['unpriced_calls']} unpriced)" if row["unpriced_calls"] else ""
            lines.append(
                f"  {row[name]:<12} {_money(row['cost_usd']):>12}  {row['calls']:>7} calls{flag}"
            )
    if report["unpriced_models"]:
        lines.append("unpriced models (not counted): " + ", ".join(report["unpriced_models"]))
    for b in report["budgets"]:
        state = "EXHAUSTED" if b["exhausted"] else f"{b['percent']:.0f}%"
        lines.append(
            f"budget {b['scope']} {b['period']}: {_money(b['spent_usd'])} of"
            f" {_money(b['cap_usd'])} ({state})"
        )
    if "since" in report:
        t = report["since"]["totals"]
        lines.append(f"since {report['since']['day']}: {_money(t['cost_usd'])}, {t['calls']} calls")
        for row in report["since"]["by_model"]:
            lines.append(
                f"  {row['model']:<28} {_money(row['cost_usd']):>12}  {row['calls']:>7} calls"
            )
    return "\n".join(terminal_safe(line) for line in lines)
