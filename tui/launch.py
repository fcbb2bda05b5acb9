"""``controlroom`` without ``--run-once``: resolve the workspace, check the store, run the app."""

from __future__ import annotations

import argparse
import asyncio

from controlroom.core.errors import ExitCode
from controlroom.core.store import Store
from controlroom.core.workspace import resolve_workspace


async def _check_store(path, *, read_only: bool) -> None:
    """Open (and migrate, unless read-only) the store once before the screen takes over, so
    errors print plainly."""
    store = await Store.open(path, read_only=read_only)
    await store.close()


def launch(args: argparse.Namespace) -> int:
    workspace = resolve_workspace(args.repo, args.db, args.config)
    read_only = bool(getattr(args, "read_only", False))
    asyncio.run(_check_store(workspace.db_path, read_only=read_only))
    from controlroom.tui.app import create_app

    app = create_app(workspace, read_only=read_only)
    code = app.run()
    return int(code if code is not None else ExitCode.OK)
