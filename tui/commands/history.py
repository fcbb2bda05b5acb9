"""``controlroom history search "QUERY" [--json] [--semantic]``: commits, hunks, findings and
decisions, ranked by BM25 or, with ``--semantic``, by meaning."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from controlroom.core.errors import UsageError
from controlroom.core.history_search import KINDS, search
from controlroom.core.history_semantic import semantic_search
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "history",
        parents=[common],
        help="search analyzed history (commits, hunks, findings, decisions)",
    )
    verbs = parser.add_subparsers(dest="history_command", metavar="VERB", required=True)
    found = verbs.add_parser(
        "search", parents=[common], help="ranked full-text search: words ANDed, else ORed"
    )
    found.add_argument("query", metavar="QUERY", help="words; each matched as written")
    found.add_argument(
        "--kind", action="append", choices=KINDS, help="only this kind of document (repeatable)"
    )
    found.add_argument(
        "--limit", type=arguments.count, default=20, help="at most N results (default 20)"
    )
    found.add_argument("--json", action="store_true", help="JSON lines, one result each")
    found.add_argument(
        "--semantic",
        action="store_true",
        help="rank by meaning (sentence embeddings) instead of shared words; needs the "
        "optional extra controlroom[semantic]",
    )
    found.set_defaults(handler=run)


def _embedding_notice(count: int) -> None:
    sys.stderr.write(f"embedding {count} documents for semantic search (once; kept in the store)\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise UsageError("history search: QUERY is empty")
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    store = await workspace.open_store()
    try:
        if args.semantic:
            hits = await semantic_search(
                store, args.query, limit=args.limit, kinds=args.kind, notice=_embedding_notice
            )
        else:
            hits = await search(store, args.query, limit=args.limit, kinds=args.kind)
    finally:
        await store.close()
    for hit in hits:
        if args.json:
            sys.stdout.write(json.dumps(hit.as_dict()) + "\n")
            continue
        when = datetime.fromtimestamp(hit.at, UTC).strftime("%Y-%m-%d")
        where = f"{hit.path}:{hit.line}" if hit.line else hit.path
        commit = (hit.commit or "")[:10]
        sys.stdout.write(
            f"{hit.kind:<8} {commit:<10} {when} {terminal_safe(where)}  "
            f"{terminal_safe(hit.title if hit.title != where else '')}\n".replace("  \n", "\n")
        )
        if hit.snippet and hit.kind != "commit":
            sys.stdout.write(f"{'':<8} {terminal_safe(hit.snippet)[:200]}\n")
    if not hits and not args.json:
        sys.stdout.write("no match\n")
    return 0
