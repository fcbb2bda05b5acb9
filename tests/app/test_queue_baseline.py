"""First open: the queue offers a whole-tree baseline with one key (b), shows its progress, and
lists its tasks after the work of new commits."""

from __future__ import annotations

from controlroom.core.analysis import AnalysisService
from controlroom.core.model import Severity
from controlroom.core.store import Store
from controlroom.tui.panes import queue_baseline
from controlroom.tui.panes.queue import QueuePane
from controlroom.tui.panes.queue_rows import BASELINE_GROUP, GroupRow
from tests.app.seed import PatternAgent, analyze, workspace_for

SIZE = (80, 24)

OLD = "def old():\n    return eval('1')\n"


def agents() -> list[PatternAgent]:
    return [
        PatternAgent("critic", "eval(", "S307", Severity.CRITICAL, 0.9),
        PatternAgent("style", "print(", "T201", Severity.LOW, 0.5),
    ]


def service_with(agents_list):
    def make(app):
        return AnalysisService(app.store, app.workspace, agents=agents_list, clock=app.clock)

    return make


async def test_first_open_offers_a_baseline(repo, tmp_path, make_app, monkeypatch):
    repo.commit({"pkg/old.py": OLD}, "old code")
    workspace = workspace_for(repo.path, tmp_path / "fresh" / "state.db")
    (tmp_path / "fresh").mkdir()
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.new_store
        assert any("Press b to analyze the whole tree" in n.message for n in app._notifications)
        empty = app.query_one("#queue-empty")
        assert "Press b" in str(empty.query(".empty-text").first().render())
        assert app.screen.active_bindings["b"].binding.show


async def test_b_runs_the_baseline_and_its_tasks_come_after_new_work(
    repo, tmp_path, make_app, monkeypatch
):
    for index in range(5):
        repo.commit({f"pkg/old{index}.py": OLD}, f"old {index}")
    repo.commit({"app/new.py": "print('new work')\n"}, "new work")
    workspace = workspace_for(repo.path, tmp_path / "state.db")
    await analyze(workspace, repo.head(), agents=agents())  # HEAD's own change: one LOW task
    monkeypatch.setattr(queue_baseline, "make_service", service_with(agents()))
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(QueuePane)
        assert [t.rule for t in pane.tasks] == ["T201"]
        assert pane.baseline_state == "offered"
        progress = pane.query_one("#queue-progress")
        assert not progress.display
        await pilot.press("b")
        assert pane.baseline_state in ("running", "done")
        assert progress.display or pane.baseline_state == "done"  # shown while it runs
        await app.workers.wait_for_complete()
        while pane.baseline_state != "done":
            await pilot.pause()
        assert not progress.display and progress.progress == progress.total == 2  # two agents
        # The five critical eval() tasks of the old files sit after the LOW task of new work.
        assert [t.rule for t in pane.tasks] == ["T201"] + ["S307"] * 5
        header = pane.rows[1]
        assert isinstance(header, GroupRow) and header.value == BASELINE_GROUP
        assert header.count == 5
        assert "b" not in app.screen.active_bindings  # offered once
        assert any("Baseline done: 6 Python files, 5 new tasks" in n.message
                   for n in app._notifications)  # fmt: skip
    store = await Store.open(workspace.db_path)
    try:
        run = await store.fetchone("SELECT * FROM baseline_runs")
        assert run["finished_at"] is not None and run["commit_sha"] == repo.head()
        assert await store.fetchval("SELECT count(*) FROM baseline_tasks") == 5
        # No commits row for the baseline, HEAD's own analysis untouched.
        assert await store.fetchval("SELECT count(*) FROM commits") == 1
        # Its runs are named apart, so critic never counts as a sweep-only agent when tasks are
        # auto-resolved; the findings keep the agent's own name.
        hobbies = {r[0] for r in await store.fetchall("SELECT hobby FROM sweep_runs")}
        assert hobbies == {"baseline:critic", "baseline:style"}
        named = {r[0] for r in await store.fetchall("SELECT agent FROM findings")}
        assert named == {"critic", "style"}
    finally:
        await store.close()
