"""``controlroom learn rules|export FILE|import FILE``: what the queue learned, shared between
repositories (docs/learning.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from controlroom.core.learn_share import export_learning, import_learning, read_export, write_export
from controlroom.core.learning_report import learned_rules
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "learn", parents=[common], help="what the queue learned: list, export, import"
    )
    verbs = parser.add_subparsers(dest="learn_command", metavar="VERB", required=True)
    rules = verbs.add_parser("rules", parents=[common], help="learned rules with their evidence")
    rules.add_argument("--json", action="store_true", help="JSON lines, one rule each")
    rules.set_defaults(handler=lambda args: asyncio.run(_rules(args)))
    export = verbs.add_parser(
        "export", parents=[common], help="write learned rules and fix-strategy records to FILE"
    )
    export.add_argument("file", metavar="FILE", type=Path)
    export.add_argument(
        "--with-paths", action="store_true", help="keep directory names (default: salted hashes)"
    )
    export.add_argument(
        "--source", metavar="NAME", default="", help="how importers see this repository"
    )
    export.set_defaults(handler=lambda args: asyncio.run(_export(args)))
    imported = verbs.add_parser(
        "import", parents=[common], help="merge an export of another repository into this store"
    )
    imported.add_argument("file", metavar="FILE", type=Path)
    imported.set_defaults(handler=lambda args: asyncio.run(_import(args)))


async def _rules(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        found = await learned_rules(store, workspace.config)
    finally:
        await store.close()
    for rule in found:
        if args.json:
            sys.stdout.write(json.dumps(rule.as_dict()) + "\n")
            continue
        sys.stdout.write(
            f"{rule.rule:<10} {terminal_safe(rule.scope):<32} +{rule.approved} -{rule.rejected}  "
            f"{terminal_safe(rule.sources)}  {terminal_safe(rule.effect)}"
            + (f"  [{rule.kinds}]" if rule.kinds else "")
            + "\n"
        )
    if not found and not args.json:
        sys.stdout.write("nothing learned yet\n")
    return 0


async def _export(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        document = await export_learning(store, with_paths=args.with_paths, source=args.source)
    finally:
        await store.close()
    write_export(document, args.file)
    paths = "directory names kept" if args.with_paths else "directories as salted hashes"
    sys.stdout.write(
        f"wrote {len(document['events'])} decisions and {len(document['strategies'])} strategy "
        f"records to {args.file} ({paths})\n"
    )
    return 0


async def _import(args: argparse.Namespace) -> int:
    document = read_export(args.file)
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        result = await import_learning(
            store, document, file=str(args.file), config=workspace.config
        )
    finally:
        await store.close()
    if result["already"]:
        sys.stdout.write(f"{args.file} was imported before (import {result['import_id']})\n")
        return 0
    where = (
        f"{result['dirs_matched']} in directories this repository has"
        if result["hashed"]
        else "directory names as exported"
    )
    sys.stdout.write(
        f"import {result['import_id']} from {terminal_safe(result['source'])}: "
        f"{result['events']} decisions ({where}), {result['strategies']} strategy records\n"
    )
    return 0
