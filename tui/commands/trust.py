"""``controlroom trust [--revoke | --show]``: trust this repository's config as it is now.

Until trusted, the privileged settings of a repository's config (commands, network, paths outside
the repository, where the API key or money goes) are ignored; see docs/security.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from controlroom.core import privileged, trust
from controlroom.core.config import operator_base, repo_layer
from controlroom.core.errors import UsageError
from controlroom.core.oneline import one_line
from controlroom.core.workspace import find_repo_root


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "trust",
        help="let this repository's config use privileged settings (commands, network, paths)",
    )
    parser.add_argument(
        "--repo", metavar="PATH", help="the git repository (default: current directory)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--revoke", action="store_true", help="forget the trust of this repository")
    which.add_argument(
        "--show", action="store_true", help="print the trust status and the privileged settings"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = find_repo_root(Path(args.repo or ".").resolve())
    if args.revoke:
        done = trust.revoke(root)
        _say(f"trust revoked for {root}" if done else f"{root} was not trusted")
        return 0
    layer = repo_layer(root)
    if layer is None:
        if args.show:
            _say(f"{root}: {trust.TrustStatus.NO_CONFIG}")
            return 0
        raise UsageError(
            f"{root} has no config to trust (controlroom.toml or [tool.controlroom] in pyproject.toml)"
        )
    _, labels = privileged.split(layer.table, operator_base(), root)
    if args.show:
        state, record = trust.status(root, layer.path.name, layer.digest)
        since = f" (trusted {record.get('trusted_at', '?')})" if record else ""
        _say(f"config: {layer.path}")
        _say(f"sha256: {layer.digest}")
        _say(f"status: {state}{since}")
        _say(f"privileged settings: {len(labels)}")
        for label in labels:
            _say(f"  {label}")
        return 0
    record_file = trust.trust(root, layer.path.name, layer.digest)
    _say(f"trusted {layer.path} (sha256 {layer.digest[:12]}), recorded in {record_file}")
    if labels:
        _say(f"privileged settings now in effect: {', '.join(labels)}")
    return 0


def _say(text: str) -> None:
    sys.stdout.write(one_line(text) + "\n")
