"""``controlroom metrics serve`` (Prometheus endpoint) and ``controlroom metrics --json``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from controlroom.core.errors import ExitCode, UsageError
from controlroom.core.workspace import resolve_workspace
from controlroom.tui import arguments


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "metrics", parents=[common], help="export the store's metrics (Prometheus or JSON)"
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
    if not args.json:
        raise UsageError("say 'serve' or --json")
    cache = state_dir(workspace.repo_path) / "metrics.json"
    print(cached_snapshot_json(workspace.db_path, cache))
    return int(ExitCode.OK)


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
