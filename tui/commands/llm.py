"""``controlroom llm check [--json]``: one tiny call per configured tier (see ``core.llm.check``).

Exit codes: 0 every tier answered; 2 no ``ANTHROPIC_API_KEY`` (or ``llm.enabled = false``);
3 a tier failed (wrong key, unknown model id, no network, an API error): one line per failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from controlroom.core.config import Config, load_config
from controlroom.core.errors import ConfigError, ExitCode, RepositoryError
from controlroom.core.llm.assistant import credentials
from controlroom.core.llm.check import TierCheck, check_tiers
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("llm", parents=[common], help="the Claude path: check it")
    actions = parser.add_subparsers(dest="llm_command", metavar="ACTION", parser_class=type(parser))
    check = actions.add_parser(
        "check", parents=[common], help="one tiny call per configured tier (model, usage, cost)"
    )
    check.add_argument("--json", action="store_true", help="one JSON object on stdout")
    check.set_defaults(handler=run_check)
    parser.set_defaults(handler=lambda args: parser.print_help() or ExitCode.USAGE)


def describe(result: TierCheck) -> str:
    """One line for a tier that answered."""
    cost = "unpriced" if result.cost_usd is None else f"${result.cost_usd:.6f}"
    return (
        f"{result.tier:<6} {result.model}: stop {result.stop_reason}, "
        f"{result.input_tokens} in / {result.output_tokens} out, {cost}, "
        f"{result.latency_ms:.0f} ms, request {result.request_id or '-'}"
    )


def failure(result: TierCheck) -> str:
    """One line for a tier that failed."""
    where = f" [request {result.request_id}]" if result.request_id else ""
    return terminal_safe(f"controlroom: error: llm check: {result.model}: {result.error}{where}")


def _config(args: argparse.Namespace) -> Config:
    """The repository's settings when run inside one; else the operator's (no repository needed)."""
    try:
        return resolve_workspace(args.repo, args.db, args.config).config
    except RepositoryError:
        if args.repo:
            raise
        return load_config(None, Path(args.config) if args.config else None)


def run_check(args: argparse.Namespace) -> int:
    config = _config(args)
    key, base_url = credentials(config, os.environ)
    if not config.get("llm.enabled"):
        raise ConfigError("llm check: llm.enabled is false: the LLM path is off")
    if key is None:
        raise ConfigError("llm check: ANTHROPIC_API_KEY is not set")
    results = asyncio.run(check_tiers(config, key, base_url))
    if args.json:
        print(json.dumps({"tiers": [r.to_dict() for r in results]}, indent=2, sort_keys=True))
    else:
        for result in results:
            if result.ok:
                print(terminal_safe(describe(result)))
    for result in results:
        if not result.ok:
            print(failure(result), file=sys.stderr)
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.RUNTIME
