"""``--read-only`` leaves the store file byte for byte as it was, whatever the operator presses."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from textual.widgets import TabbedContent

from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.subagents.registry import Registry
from controlroom.tui.actions import ACTIONS
from controlroom.tui.palette import RegistryCommands
from controlroom.tui.panes import PANES
from tests.app.seed import FIXED_NOW, PROBLEM_CODE, analyze, workspace_for
from tests.app.test_sla_pane import CONFIG
from tests.app.test_sla_pane import seed as seed_sla

SIZE = (80, 24)
# Keys that leave the app or move between panes: the walk below presses those itself.
NAVIGATION = {"app.quit", "app.pane.previous", "app.pane.next", "details.back"}
NAVIGATION |= {f"app.pane.{spec.id}" for spec in PANES}
# Palette entries that only navigate or leave.
PALETTE_SKIP = ("quit", "show_pane", "cycle_pane", "help", "command_palette")


def store_files(db: Path) -> dict[str, str]:
    """sha256 of the store and its -wal/-shm, for those present."""
    found = {}
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def every_key() -> list[str]:
    keys = []
    for action in ACTIONS.all():
        if action.id not in NAVIGATION:
            keys.extend(k.strip() for k in action.keys.split(","))
    return list(dict.fromkeys(keys))


async def seed_everything(repo, tmp_path: Path):
    repo.commit({"README.md": "demo\n", "controlroom.toml": CONFIG}, "initial")
    repo.commit({"app/main.py": PROBLEM_CODE}, "add main with problems")
    workspace = workspace_for(repo.path, tmp_path / "state.db")
    await analyze(workspace, repo.head())  # tasks, findings, runs
    await seed_sla(workspace.db_path, repo.path)  # SLA results and an alert
    store = await Store.open(workspace.db_path)
    try:
        # A snooze that ended long before the app's "now": a writer would wake it up.
        long_ago = TaskQueue(store, workspace.config, clock=lambda: FIXED_NOW - 30 * 86400)
        (task, *_rest) = await long_ago.list()
        await long_ago.decide(task.id, TaskState.SNOOZED)
        await Registry(store).register(
            "w1", ["docs"], max_concurrent=2, heartbeat_interval=600, pid=1
        )
        decisions = await store.fetchval("SELECT count(*) FROM decisions")
    finally:
        await store.close()
    return workspace, decisions


async def close_screens(app, pilot) -> None:
    while len(app.screen_stack) > 1:
        await pilot.press("escape")
        await pilot.pause()


async def test_a_read_only_session_changes_no_byte_of_the_store(repo, tmp_path, make_app):
    workspace, decisions_before = await seed_everything(repo, tmp_path)
    # Another process keeps the store open (as a cron run or a worker would), after a checkpoint:
    # the WAL is empty and -wal/-shm exist, so any write by the app would change one of them.
    other = sqlite3.connect(workspace.db_path)
    try:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = store_files(workspace.db_path)
        assert set(before) == {"state.db", "state.db-wal", "state.db-shm"}
        app = make_app(workspace, read_only=True, background=True)
        async with app.run_test(size=SIZE) as pilot:
            for spec in PANES:
                generation = app.refresh_generation
                await pilot.press(spec.key)
                while spec.id not in app._loaded:
                    generation = await app.wait_for_refresh(generation, timeout=10)
                assert app.query_one("#panes", TabbedContent).active == spec.id
                for key in every_key():
                    await pilot.press(key)
                    await pilot.pause()
                    await close_screens(app, pilot)
                for hit in [hit async for hit in RegistryCommands(app.screen).discover()]:
                    if not any(name in str(hit.command) for name in PALETTE_SKIP):
                        await hit.command()
                        await pilot.pause()
                        await close_screens(app, pilot)
            await app.workers.wait_for_complete()
            assert app.runtime is None  # a viewer never analyzes nor runs side services
        after = store_files(workspace.db_path)
    finally:
        other.close()
    assert after == before
    store = await Store.open(workspace.db_path)
    try:
        snoozed = await store.fetchval("SELECT count(*) FROM tasks WHERE state = 'snoozed'")
        decisions = await store.fetchval("SELECT count(*) FROM decisions")
    finally:
        await store.close()
    assert snoozed == 1 and decisions == decisions_before  # still snoozed, nothing logged
