"""Every pane at 80x24 and at 120x40 with realistic data: hundreds of tasks with long paths, the
queue grouped by file with a baseline section, thirty analyzed commits, SLA checks, a month of LLM
calls, sub-agents at work.

Stable on a loaded machine: each picture is taken once its pane has its data, every worker is done,
and the pane shown is asserted to be the active one. Timers and the runtime are off, the clock fixed.
Regenerate after an intended change: ``python -m pytest tests/snapshots --snapshot-update``.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.widgets import TabbedContent

from controlroom.core.store import Store
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.app import create_app
from controlroom.tui.panes.queue import QueuePane
from tests.app.seed import FIXED_NOW, insert_commit, insert_tasks
from tests.snapshots.test_snapshots import seed_commits, shown_after

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
LONG = "src/controlroom_service/payments/webhooks/handlers/incoming_event_normaliser_"


@pytest.fixture
def repo_path(repo):
    repo.commit({"README.md": "demo\n"}, "initial", date="2026-01-01T00:00:00Z")
    return repo.path


def run(coro) -> None:
    asyncio.run(coro)


async def seed_queue(db, *, baseline: bool) -> None:
    store = await Store.open(db)
    try:
        await insert_tasks(store, 150, path_prefix=LONG)
        await insert_tasks(store, 100, start=150, path_prefix="tests/integration/payments/test_")
        await insert_tasks(store, 100, start=250, path_prefix="docs/examples/snippets/example_")
        if baseline:
            async with store.transaction() as conn:
                await conn.execute(
                    "INSERT INTO baseline_runs (id, commit_sha, started_at, finished_at, "
                    "files_total) VALUES (1, ?, ?, ?, 120)",
                    ("c" * 40, FIXED_NOW - 3600, FIXED_NOW - 3000),
                )
                await conn.execute(
                    "INSERT INTO baseline_tasks (task_id, run_id) SELECT id, 1 FROM tasks "
                    "WHERE path LIKE 'docs/%'"
                )
    finally:
        await store.close()


def app_for(repo_path, db, *, now: float = FIXED_NOW, **overrides):
    workspace = resolve_workspace(repo_path, db, overrides=overrides or None)
    app = create_app(workspace, background=False, clock=lambda: now)
    app.animation_level = "none"
    return app


async def queue_ready(pilot) -> None:
    app = pilot.app
    pane = app.query_one(QueuePane)
    generation = app.refresh_generation
    while not pane.rows:
        generation = await app.wait_for_refresh(generation, timeout=10)
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.query_one("#panes", TabbedContent).active == "queue"


@SIZES
def test_queue_hundreds_of_tasks(snap_compare, repo_path, tmp_path, size):
    db = tmp_path / "state.db"
    run(seed_queue(db, baseline=False))
    assert snap_compare(app_for(repo_path, db), run_before=queue_ready, terminal_size=size)


@SIZES
def test_queue_grouped_by_file_with_a_baseline(snap_compare, repo_path, tmp_path, size):
    db = tmp_path / "state.db"
    run(seed_queue(db, baseline=True))
    app = app_for(repo_path, db, **{"queue.group": "file"})
    assert snap_compare(app, run_before=queue_ready, terminal_size=size)


@SIZES
def test_queue_baseline_section_sorted_by_file(snap_compare, repo_path, tmp_path, size):
    """G: the end of the queue, where the baseline's tasks are (after the new work)."""
    db = tmp_path / "state.db"
    run(seed_queue(db, baseline=True))
    app = app_for(repo_path, db, **{"queue.sort": "file"})

    async def at_the_end(pilot) -> None:
        await queue_ready(pilot)
        await pilot.press("G")
        await pilot.pause()

    assert snap_compare(app, run_before=at_the_end, terminal_size=size)


async def seed_history(db) -> None:
    store = await Store.open(db)
    try:
        await seed_commits(store)
        subjects = ["Fix the retry loop", "Add invoice export", "Bump dependencies",
                    "Refactor the webhook normaliser for very long payload names", "Docs"]  # fmt: skip
        for index in range(28):
            await insert_commit(
                store, f"{index:02d}" + "e" * 38, subjects[index % 5],
                analyzed_at=FIXED_NOW - 86_400 - index * 3_600,
                runs=[("critic", "ok", 0.3, index % 4, None, {}),
                      ("docs", "ok", 0.2, index % 3, None, {"doc_coverage": 60.0 + index})],
                findings=[("critic", "S602", "high", f"{LONG}{index}.py", 10 + index, "shell=True")]
                * (index % 3),
                counts={"created": index % 4, "resolved": index % 2},
            )  # fmt: skip
    finally:
        await store.close()


@SIZES
def test_convergence_thirty_commits(snap_compare, repo_path, tmp_path, size):
    from controlroom.tui.panes.convergence import ConvergencePane

    db = tmp_path / "state.db"
    run(seed_history(db))
    loaded = shown_after("2", ConvergencePane, lambda pane: "convergence" in pane.app._loaded)
    assert snap_compare(app_for(repo_path, db), run_before=loaded, terminal_size=size)


@SIZES
def test_sla_heatmap(snap_compare, repo, tmp_path, size):
    from controlroom.tui.panes.sla import SlaPane
    from tests.app.test_sla_pane import CONFIG, NOW
    from tests.app.test_sla_pane import seed as seed_sla

    repo.commit({"controlroom.toml": CONFIG}, "sla checks", date="2026-01-01T00:00:00Z")
    db = tmp_path / "sla.db"
    run(seed_sla(db, repo.path))
    loaded = shown_after("3", SlaPane, lambda pane: pane.data is not None)
    assert snap_compare(app_for(repo.path, db, now=NOW), run_before=loaded, terminal_size=size)


async def seed_costs(db, now: float) -> None:
    from tests.app.test_llm_costs_pane import add_call

    store = await Store.open(db)
    try:
        for day in range(30):
            at = now - day * 86_400
            await add_call(store, at, "claude-haiku-5-5", "haiku", "docs", 20_000 + day * 500)
            await add_call(store, at, "claude-sonnet-5-5", "sonnet", "critic", 15_000)
            if day % 6 == 0:
                await add_call(store, at, "claude-opus-5-5", "opus", "impact", 8_000)
        await add_call(store, now, "claude-mystery", "", "tests", 10)
    finally:
        await store.close()


@SIZES
def test_costs_a_month_of_calls(snap_compare, repo_path, tmp_path, size, monkeypatch):
    from controlroom.tui.panes.costs import CostsPane
    from tests.app.test_llm_costs_pane import NOW

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    db = tmp_path / "state.db"
    run(seed_costs(db, NOW))
    loaded = shown_after("4", CostsPane, lambda pane: pane.report is not None)
    app = app_for(repo_path, db, now=NOW, **{"budgets.daily_usd": 0.5})
    assert snap_compare(app, run_before=loaded, terminal_size=size)


async def seed_workers(db) -> None:
    store = await Store.open(db)
    try:
        async with store.transaction() as conn:
            await conn.executemany(
                "INSERT INTO subagents (name, pid, host, capabilities, max_concurrent, status, "
                "heartbeat_interval, started_at, last_heartbeat) VALUES (?, ?, 'build-01', ?, ?, ?,"
                " 5.0, ?, ?)",
                [("worker-a", 4101, "critic,docs,hobby", 2, "live", FIXED_NOW - 900, FIXED_NOW - 2),
                 ("worker-b", 4102, "critic,tests", 1, "live", FIXED_NOW - 600, FIXED_NOW - 3),
                 ("worker-c", 4103, "impact", 1, "dead", FIXED_NOW - 7200, FIXED_NOW - 3600)],
            )  # fmt: skip
            rows = []
            for index in range(24):
                state = ["completed", "completed", "running", "failed", "pending"][index % 5]
                worker = None if state == "pending" else ["worker-a", "worker-b"][index % 2]
                done = state in ("completed", "failed")
                rows.append((
                    "agent", ["critic", "docs", "tests"][index % 3],
                    f"{['critic', 'docs', 'tests'][index % 3]}@{index:02d}abcdef12",
                    json.dumps({"commit": f"{index:02d}" * 20}), state, worker,
                    FIXED_NOW - 1000 + index * 30, FIXED_NOW - 990 + index * 30,
                    FIXED_NOW - 960 + index * 30 if done else None, 1.5 + index / 10 if done else None,
                    "timed out after 30 s" if state == "failed" else None,
                ))  # fmt: skip
            await conn.executemany(
                "INSERT INTO assignments (kind, capability, target, payload_json, state, subagent,"
                " created_at, assigned_at, finished_at, duration_s, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        await store.close()


@SIZES
def test_subagents_at_work(snap_compare, repo_path, tmp_path, size):
    from controlroom.tui.panes.subagents import SubagentsPane

    db = tmp_path / "state.db"
    run(seed_workers(db))
    loaded = shown_after("5", SubagentsPane, lambda pane: bool(pane.subagents))
    assert snap_compare(app_for(repo_path, db), run_before=loaded, terminal_size=size)
