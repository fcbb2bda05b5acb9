"""``controlroom metrics``: a summary of the store; ``metrics --json``; ``metrics serve`` (Prometheus)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments
from controlroom.tui.escape import terminal_safe


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "metrics",
        parents=[common],
        help="the store's metrics: a summary, --json, or 'serve' for Prometheus",
    )
    p.add_argument("action", nargs="?", choices=["serve"], help="serve /metrics over HTTP")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=arguments.port, default=9464, help="port (default 9464; 0 picks one)"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary (cached for 10 s)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from controlroom.core.metrics_export import cached_snapshot_json
    from controlroom.core.paths import state_dir

    workspace = resolve_workspace(args.repo, args.db, args.config)
    if args.action == "serve":
        if args.json:
            raise UsageError("--json prints once; it does not go with 'serve'")
        return _serve(workspace.db_path, args.host, args.port)
    cache = state_dir(workspace.repo_path) / "metrics.json"
    text = cached_snapshot_json(workspace.db_path, cache)
    if args.json:
        print(text)
    else:
        sys.stdout.write("".join(f"{line}\n" for line in summary_lines(json.loads(text))))
    return int(ExitCode.OK)


def _counts(pairs: dict[str, int]) -> str:
    if not pairs:
        return "none"
    return ", ".join(f"{n} {key}" for key, n in sorted(pairs.items(), key=lambda kv: -kv[1]))


def summary_lines(snap: dict[str, Any]) -> list[str]:
    """The JSON snapshot as a few lines for people (``controlroom metrics`` without options)."""
    tasks = snap.get("tasks_by_state", {})
    lines = [
        f"tasks     {sum(tasks.values())}: {_counts(tasks)}",
        f"findings  {sum(snap.get('findings_by_agent', {}).values())}: "
        f"{_counts(snap.get('findings_by_agent', {}))}",
    ]
    runs = snap.get("agent_run_durations", {})
    if runs:
        parts = [
            f"{agent} {d['count']} (mean {d['sum'] / d['count']:.1f} s)"
            for agent, d in sorted(runs.items())
            if d["count"]
        ]
        lines.append(f"runs      {', '.join(parts)}")
    else:
        lines.append("runs      none")
    if snap.get("subagents"):
        busy = sum(s["load"] for s in snap["subagents"])
        lines.append(f"workers   {len(snap['subagents'])}, {busy} assignments running")
    if snap.get("sla"):
        violated = [s["check"] for s in snap["sla"] if s["violated"]]
        lines.append(
            f"sla       {len(snap['sla'])} checks, {len(violated)} violated"
            + (f": {', '.join(violated)}" if violated else "")
        )
    if snap.get("llm"):
        cost = sum(r["cost_usd"] for r in snap["llm"])
        lines.append(f"llm       ${cost:.4f} over {len(snap['llm'])} tier/agent pairs")
    lines.append("(--json for every figure, 'serve' for a Prometheus endpoint)")
    return [terminal_safe(line) for line in lines]


def _serve(db_path, host: str, port: int) -> int:
    from controlroom.core.metrics_export import serve_metrics

    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0-65535, not {port}")
    try:
        server, thread = serve_metrics(db_path, host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound = server.server_address[1]
    print(f"serving metrics on http://{host}:{bound}/metrics (store {db_path})", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)
    return int(ExitCode.OK)


if (
    __name__ == "__main__"
):  # python -m controlroom.tui.commands.metrics ...: without loading other commands
    from controlroom.tui.cli import _Parser, common_options

    parser = _Parser(prog="controlroom")
    register(parser.add_subparsers(dest="command", parser_class=_Parser), common_options())
    parsed = parser.parse_args(["metrics", *sys.argv[1:]])
    sys.exit(parsed.handler(parsed))
