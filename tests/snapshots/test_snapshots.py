"""Snapshots of the working panes and the empty states at 80x24, runtime and timers off.

Data is inserted with fixed values and the app's clock is fixed, so the pictures are stable.
Regenerate after an intended change: ``python -m pytest tests/snapshots --snapshot-update``.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.widgets import TabbedContent

from controlroom.core.store import Store
from controlroom.tui.app import create_app
from controlroom.tui.panes import PANES, PaneSpec, load_pane
from tests.app.seed import FIXED_NOW, insert_commit, insert_tasks, workspace_for

SIZE = (80, 24)


@pytest.fixture
def workspace(repo, tmp_path):
    repo.commit({"README.md": "demo\n"}, "initial", date="2026-01-01T00:00:00Z")
    return workspace_for(repo.path, tmp_path / "state.db")


def seed(workspace, *, tasks: int = 0, commits: bool = False) -> None:
    async def run() -> None:
        store = await Store.open(workspace.db_path)
        try:
            if tasks:
                await insert_tasks(store, tasks)
            if commits:
                await seed_commits(store)
        finally:
            await store.close()

    asyncio.run(run())


async def seed_commits(store: Store) -> None:
    await insert_commit(
        store,
        "a1b2c3d4e5" + "0" * 30,
        "Add the payment webhook handler",
        analyzed_at=FIXED_NOW - 600,
        runs=[
            ("critic", "ok", 0.42, 3, None, {}),
            ("docs", "ok", 0.31, 1, None, {"doc_coverage": 71.5}),
            ("tests", "timeout", 30.0, 0, "timed out after 30 s", {}),
        ],
        findings=[
            ("critic", "S602", "critical", "pay/hooks.py", 41, "subprocess call with shell=True"),
            ("critic", "T201", "low", "pay/hooks.py", 12, "print found"),
            ("critic", "B006", "medium", "pay/models.py", 88, "mutable default argument"),
            ("docs", "DOC100", "low", "pay/hooks.py", 40, "public function without docstring"),
        ],
        counts={"critical": 1, "consensus": 1, "created": 3, "updated": 1},
    )
    await insert_commit(
        store,
        "f0e1d2c3b4" + "0" * 30,
        "Refactor settings loader",
        analyzed_at=FIXED_NOW - 7200,
        runs=[("critic", "ok", 0.2, 0, None, {}), ("docs", "ok", 0.1, 0, None, {})],
        counts={"resolved": 2, "created": 0},
    )


def app_for(workspace, **kwargs):
    app = create_app(workspace, background=False, clock=lambda: FIXED_NOW, **kwargs)
    app.animation_level = "none"
    return app


def test_queue_pane(snap_compare, workspace):
    seed(workspace, tasks=30)
    assert snap_compare(app_for(workspace), terminal_size=SIZE)


def test_queue_pane_marked_and_decided(snap_compare, workspace):
    seed(workspace, tasks=30)
    assert snap_compare(app_for(workspace), press=["a", "j", "space", "s"], terminal_size=SIZE)


def test_queue_pane_read_only_no_color(snap_compare, workspace, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    seed(workspace, tasks=30)
    assert snap_compare(app_for(workspace, read_only=True), terminal_size=SIZE)


def test_queue_pane_empty(snap_compare, workspace):
    assert snap_compare(app_for(workspace), terminal_size=SIZE)


def convergence_shown():
    from controlroom.tui.panes.convergence import ConvergencePane

    return shown_after("2", ConvergencePane, lambda pane: "convergence" in pane.app._loaded)


def test_convergence_pane(snap_compare, workspace):
    seed(workspace, commits=True)
    assert snap_compare(app_for(workspace), run_before=convergence_shown(), terminal_size=SIZE)


def test_convergence_pane_empty(snap_compare, workspace):
    assert snap_compare(app_for(workspace), run_before=convergence_shown(), terminal_size=SIZE)


def test_commit_details(snap_compare, workspace):
    seed(workspace, commits=True)
    app = app_for(workspace)
    assert snap_compare(app, run_before=convergence_shown(), press=["enter"], terminal_size=SIZE)


class MissingPaneApp(App[None]):
    """The empty state a pane shows while its module is not installed."""

    def compose(self) -> ComposeResult:
        yield load_pane(
            PaneSpec(
                "sla",
                "SLA",
                "3",
                "controlroom.tui.panes.not_installed",
                "SlaPane",
                "Data-freshness SLA checks ([sla] in controlroom.toml) are not part of this "
                "build: the module tui.panes.sla is not installed.",
            )
        )


def test_missing_pane_empty_state(snap_compare):
    assert snap_compare(MissingPaneApp(), terminal_size=SIZE)


def shown_after(key: str, pane_type: type, loaded) -> object:
    """``run_before`` for snap_compare: press ``key``, wait until ``pane_type`` has its data and
    every worker is done, and check that pane is still the active one (a late focus message once
    switched back to the Queue when the machine was busy)."""

    async def run_before(pilot) -> None:
        app = pilot.app
        pane_id = next(spec.id for spec in PANES if spec.key == key)
        generation = app.refresh_generation
        await pilot.press(key)
        while not (app.query(pane_type) and loaded(app.query_one(pane_type))):
            generation = await app.wait_for_refresh(generation, timeout=5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.query_one("#panes", TabbedContent).active == pane_id

    return run_before


def pane_app(workspace, now: float):
    app = create_app(workspace, background=False, clock=lambda: now)
    app.animation_level = "none"
    return app


def test_sla_pane_heatmap(snap_compare, repo, tmp_path):
    from controlroom.core.workspace import resolve_workspace
    from controlroom.tui.panes.sla import SlaPane
    from tests.app.test_sla_pane import CONFIG, NOW
    from tests.app.test_sla_pane import seed as seed_sla

    repo.commit({"controlroom.toml": CONFIG}, "sla checks", date="2026-01-01T00:00:00Z")
    db = tmp_path / "sla.db"
    asyncio.run(seed_sla(db, repo.path))
    app = pane_app(resolve_workspace(repo.path, db), NOW)
    loaded = shown_after("3", SlaPane, lambda pane: pane.data is not None)
    assert snap_compare(app, run_before=loaded, terminal_size=SIZE)


def test_costs_pane_figures(snap_compare, workspace, monkeypatch):
    from controlroom.tui.panes.costs import CostsPane
    from tests.app.test_llm_costs_pane import NOW, add_call

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)

    async def calls() -> None:
        store = await Store.open(workspace.db_path)
        try:
            for day in range(5):
                at = NOW - day * 86400
                await add_call(store, at, "claude-haiku-5-5", "haiku", "docs", 20_000)
                await add_call(store, at, "claude-sonnet-5-5", "sonnet", "critic", 20_000)
        finally:
            await store.close()

    asyncio.run(calls())
    loaded = shown_after("4", CostsPane, lambda pane: pane.report is not None)
    assert snap_compare(pane_app(workspace, NOW), run_before=loaded, terminal_size=SIZE)


def test_subagents_pane_empty(snap_compare, workspace):
    from controlroom.tui.panes.subagents import SubagentsPane

    def loaded(pane) -> bool:
        return pane.app.refresh_generation > 0 and "subagents" in pane.app._loaded

    app = pane_app(workspace, FIXED_NOW)
    assert snap_compare(app, run_before=shown_after("5", SubagentsPane, loaded), terminal_size=SIZE)
