"""The SLA pane at 80x24: honest empty state, the heatmap with marks, keys for history, run, ack."""

from __future__ import annotations

from pathlib import Path

from controlroom.core.sla.checks import CheckResult
from controlroom.core.sla.monitor import SlaMonitor, SlaSettings
from controlroom.core.store import Store
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.panes.sla import SlaHistoryScreen, SlaPane
from tests.app.seed import FIXED_NOW

SIZE = (80, 24)
NOW = FIXED_NOW + 7200
CONFIG = """
[[sla.checks]]
name = "exports"
kind = "disk"
group = "pipelines"
max_pct = 100
failure_threshold = 1

[[sla.checks]]
name = "nightly"
kind = "heartbeat"
group = "jobs"
max_age = "1h"
"""


async def seeded_app(repo, tmp_path, make_app):
    """The app on a repository with CONFIG's checks and a store with their history."""
    repo.commit({"controlroom.toml": CONFIG}, "sla checks")
    db = tmp_path / "state.db"
    await seed(db, repo.path)
    return make_app(resolve_workspace(repo.path, db))


async def show_sla(app, pilot) -> SlaPane:
    generation = app.refresh_generation
    await pilot.press("3")
    pane = None
    while pane is None or pane.data is None:
        generation = await app.wait_for_refresh(generation, timeout=5)
        pane = app.query_one(SlaPane)
    return pane


async def test_no_checks_says_how_to_add_them(workspace, make_app):
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_sla(app, pilot)
        assert pane.data.empty
        empty = pane.query_one("#sla-empty")
        assert empty.display and "no SLA checks configured" in empty.text
        assert not pane.query_one("#sla-table").display


async def seed(db: Path, repo: Path) -> None:
    workspace = resolve_workspace(repo, db)
    store = await Store.open(db)
    try:
        monitor = SlaMonitor(store, SlaSettings.from_config(workspace.config), clock=lambda: NOW)
        check = monitor.settings.check("exports")
        for minutes, ok in ((-130, False), (-20, True), (-10, False)):
            at = NOW + minutes * 60
            status = "ok" if ok else "violated"
            await monitor.record(
                check, CheckResult("exports", at, status, 50.0, 100.0, 0.0, status)
            )
    finally:
        await store.close()


async def test_heatmap_rows_marks_history_and_ack(repo, tmp_path, make_app):
    app = await seeded_app(repo, tmp_path, make_app)
    async with app.run_test(size=SIZE) as pilot:
        pane = await show_sla(app, pilot)
        assert [r.name for r in pane.data.rows] == ["exports", "nightly"]
        exports = pane.data.rows[0]
        # 23:00 violated, 00:00 gap, 01:00 one of two ok (50 %), 02:00 (this hour) no runs yet
        assert "".join(c.mark for c in exports.cells[-4:]) == "X.X."
        assert exports.status == "ALERT"
        assert pane.row_names == [None, "exports", None, "nightly"]
        assert len(exports.cells) <= 24
        table = pane.query_one("#sla-table")
        table.move_cursor(row=1)
        await pilot.press("a")  # acknowledge
        await pilot.pause()
        assert pane.data.rows[0].status == "ALERT(ack)"
        await pilot.press("b")  # 7 daily buckets
        await pilot.pause()
        assert pane.data.mode == "daily" and len(pane.data.bucket_starts) == 7
        table.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SlaHistoryScreen)
        title = str(app.screen.query_one("#sla-history-title").render())
        assert "3 runs in 24 h, 2 violations" in title
        await pilot.press("escape")
        await pilot.pause()
        table.move_cursor(row=3)
        await pilot.press("n")  # run the heartbeat check now: no ping yet -> violated
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.data.rows[1].last_status == "violated"


async def test_the_30_day_view_shows_30_days_at_80_columns(repo, tmp_path, make_app):
    app = await seeded_app(repo, tmp_path, make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await show_sla(app, pilot)
        for _ in range(2):  # 24 h -> 7 d -> 30 d
            await pilot.press("b")
            await pilot.pause()
        assert pane.data.mode == "daily" and len(pane.data.bucket_starts) == 30  # was 24
        table = pane.query_one("#sla-table")
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[1] == "last 30 x d" and "24h" not in labels  # the narrow layout
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= 80


async def test_a_resized_terminal_redraws_the_table_for_its_width(repo, tmp_path, make_app):
    """An SSH window made narrower drops the 24h column; wider again brings it back (a first
    load made before the pane had its size once kept the narrow table on a wide terminal)."""
    app = await seeded_app(repo, tmp_path, make_app)
    async with app.run_test(size=(120, 30)) as pilot:
        pane = await show_sla(app, pilot)
        table = pane.query_one("#sla-table")

        def labels() -> list[str]:
            return [str(c.label) for c in table.columns.values()]

        async def drawn(wide: bool) -> bool:
            """Wait (idle cycles, no clock) until the pane has its new width and a table drawn
            for it, then for any redraw still in flight; say whether the table has the 24h
            column then."""
            for _ in range(1000):
                if pane._layout()[0] != wide and pane._drawn_for == pane._layout():
                    break
                await pilot.pause()
            await pane.drawn()
            return ("24h" in labels()) == wide

        assert "24h" in labels()
        await pilot.resize_terminal(80, 30)
        assert await drawn(wide=False)
        await pilot.resize_terminal(120, 30)
        assert await drawn(wide=True)
