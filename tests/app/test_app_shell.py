"""The app shell: pane keys, help, palette, live refresh from another process, worker errors."""

from __future__ import annotations

import asyncio

from textual.widgets import Static, TabbedContent

from controlroom.core.runtime import Runtime
from controlroom.core.store import Store
from controlroom.tui.actions import ACTIONS
from controlroom.tui.palette import RegistryCommands
from controlroom.tui.panes import PaneSpec, load_pane
from controlroom.tui.panes.convergence import ConvergencePane
from controlroom.tui.panes.empty import EmptyState
from controlroom.tui.panes.queue import QueuePane
from controlroom.tui.screens.commit_details import CommitDetailsScreen
from controlroom.tui.screens.help import HelpScreen, help_text
from tests.app.seed import FIXED_NOW, default_agents, insert_tasks

SIZE = (80, 24)


def active(app) -> str:
    return app.query_one("#panes", TabbedContent).active


async def test_number_keys_and_brackets_switch_panes(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        assert active(app) == "queue"
        await pilot.press("2")
        assert active(app) == "convergence"
        await pilot.press("right_square_bracket")
        assert active(app) == "sla"
        await pilot.press("5", "right_square_bracket")
        assert active(app) == "queue"  # wraps around
        await pilot.press("left_square_bracket")
        assert active(app) == "subagents"
        for pane_id in ("queue", "convergence", "sla", "costs", "subagents"):
            assert app.pane(pane_id) is not None, pane_id  # every pane mounted something
        await pilot.press("1")
        assert app.focused is app.query_one(QueuePane).table


def test_a_missing_pane_module_becomes_an_empty_state_saying_so():
    spec = PaneSpec(
        "x", "X", "9", "controlroom.tui.panes.not_there", "XPane", "X needs the [x] feature."
    )
    pane = load_pane(spec)
    assert isinstance(pane, EmptyState)
    assert pane.text == "X needs the [x] feature."
    broken = PaneSpec("x", "X", "9", "controlroom.tui.panes.queue", "NoSuchPane", "")
    assert "has no class NoSuchPane" in load_pane(broken).text


async def test_help_lists_every_key_of_the_registry(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).content)
        for action in ACTIONS.all():
            assert action.description in text, action.id
        assert "A          Approve *: Approve every marked task" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def test_read_only_help_drops_state_changing_keys():
    text = help_text(read_only=True)
    assert "Read-only mode" in text
    assert "Approve" not in text and "Reject" not in text and "Undo" not in text
    assert "Filter" in text and "Details" in text


async def palette_labels(app) -> list[str]:
    provider = RegistryCommands(app.screen)
    return [str(hit.text) async for hit in provider.discover()]


async def test_palette_offers_what_makes_sense_here(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        labels = await palette_labels(app)
        assert "Approve (a)" in labels and "Help (?)" in labels
        await pilot.press("2")
        labels = await palette_labels(app)
        assert "Approve (a)" not in labels and "Findings (enter)" in labels
    ro = make_app(seeded, read_only=True)
    async with ro.run_test(size=SIZE):
        labels = await palette_labels(ro)
        assert "Approve (a)" not in labels and "Filter (/)" in labels


async def test_palette_runs_the_chosen_action(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"approve")
        await pilot.pause(0.3)  # the palette searches in its own worker
        await pilot.press("enter")
        await pilot.pause()
        task = app.query_one(QueuePane).tasks[0]
        state = await app.store.fetchval("SELECT state FROM tasks WHERE id = ?", (task.id,))
        assert state == "approved"


async def test_convergence_rows_and_commit_details(seeded, make_app, repo):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        pane = app.query_one(ConvergencePane)
        assert [c.sha for c in pane.commits] == [repo.head()]
        row = [str(c) for c in pane.table.get_row_at(0)]
        assert row[0] == repo.head()[:7] and row[1].startswith("add main with problems")
        assert row[2] == "4/0" and row[4] == "4" and row[7] == "4/0/0"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CommitDetailsScreen)
        text = str(app.screen.query_one("#details-text", Static).content)
        assert "Agent runs (4)" in text and "doc coverage 50.0" in text
        assert "app/main.py (4)" in text and "L5     CRIT S307" in text
        assert "Findings by agent" in text and "critic (1): S307 x1" in text


async def test_another_process_task_appears_without_a_keypress(seeded, make_app):
    app = make_app(seeded, background=True, runtime_factory=lambda ws, st: None)
    async with app.run_test(size=SIZE):
        pane = app.query_one(QueuePane)
        assert pane.total == 4
        generation = app.refresh_generation
        other = await Store.open(seeded.db_path)  # a cron run-once, as far as SQLite can tell
        try:
            await insert_tasks(other, 3, commit_sha="d" * 40)
        finally:
            await other.close()
        deadline = asyncio.get_running_loop().time() + 5
        while pane.total != 7:  # each iteration waits for a real refresh message
            generation = await app.wait_for_refresh(generation, timeout=5)
            assert asyncio.get_running_loop().time() < deadline
        assert pane.table.row_count == 7


async def test_the_runtime_analyzes_a_new_commit_live(seeded, make_app, repo):
    workspace = seeded.__class__(
        seeded.repo_path,
        seeded.config.with_overrides({"runtime.poll_interval": 0.05}),
        seeded.db_path,
    )

    def runtime(ws, store):
        return Runtime(ws, store, agents=default_agents(), clock=lambda: FIXED_NOW)

    app = make_app(workspace, background=True, runtime_factory=runtime)
    async with app.run_test(size=SIZE):
        pane = app.query_one(QueuePane)
        generation = app.refresh_generation
        await asyncio.to_thread(repo.commit, {"app/more.py": "x = eval('1')\n"}, "more eval")
        deadline = asyncio.get_running_loop().time() + 10
        while not any(t.path == "app/more.py" for t in pane.tasks):
            generation = await app.wait_for_refresh(generation, timeout=10)
            assert asyncio.get_running_loop().time() < deadline
        assert app.runtime is not None


async def test_a_failing_runtime_is_a_notice_not_a_crash(seeded, make_app):
    def broken(ws, store):
        raise RuntimeError("no agents today")

    app = make_app(seeded, background=True, runtime_factory=broken)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("no agents today" in n.message for n in app._notifications)
        await pilot.press("a")  # still usable
        state = await app.store.fetchval("SELECT count(*) FROM tasks WHERE state = 'approved'")
        assert state == 1


async def test_ctrl_r_refreshes_the_visible_pane(seeded, make_app):
    app = make_app(seeded)  # no watcher: only ctrl+r can show the new rows
    async with app.run_test(size=SIZE) as pilot:
        other = await Store.open(seeded.db_path)
        try:
            await insert_tasks(other, 2, commit_sha="e" * 40)
        finally:
            await other.close()
        assert app.query_one(QueuePane).total == 4
        await pilot.press("ctrl+r")
        assert app.query_one(QueuePane).total == 6


async def test_empty_store_shows_honest_empty_states(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        note = app.query_one("#queue-empty", EmptyState)
        assert note.display and note.title == "No tasks yet"
        assert app.focused is note  # the pane's keys still work
        await pilot.press("u")
        assert any("Nothing to undo" in n.message for n in app._notifications)
        await pilot.press("2")
        await pilot.pause()
        assert app.query_one("#convergence-empty", EmptyState).display


async def test_commit_details_show_the_runtime_impact_per_metric(seeded, make_app, repo):
    from controlroom.core.correlator import Correlator, CorrelatorSettings
    from controlroom.core.store import Store
    from tests.unit.test_correlator_flow import ScriptedSource, Sleeps, readings

    store = await Store.open(seeded.db_path)
    try:
        corr = Correlator(
            store,
            CorrelatorSettings(samples=3, sample_interval=1.0),
            source=ScriptedSource(readings(10, 40) + readings(32, 41)),
            sleep=Sleeps(),
        )
        await corr.capture_baseline(repo.head(), ["app/main.py"])
        await corr.capture_delta(repo.head())
    finally:
        await store.close()
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        text = str(app.screen.query_one("#details-text", Static).content)
        assert "Runtime impact" in text and "impact critical" in text
        assert "cpu_percent" in text and "+22.0" in text


async def test_a_late_focus_message_does_not_switch_back_to_the_old_pane(seeded, make_app):
    from textual.widgets import TabPane

    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        old = app.query_one("#subagents", TabPane)
        await pilot.press("right_square_bracket")
        # What a focus change made just before the key leaves queued: it must not win.
        app.query_one("#panes", TabbedContent).post_message(TabPane.Focused(old))
        await pilot.pause()
        assert active(app) == "queue"
