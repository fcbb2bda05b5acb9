"""The Queue pane keeps tasks below [queue] min_severity below the fold; N shows and hides them."""

from __future__ import annotations

from controlroom.core.locations import user_config_file
from controlroom.core.store import Store
from controlroom.tui.panes.queue import QueuePane
from tests.app.seed import insert_tasks, workspace_for

SIZE = (80, 24)


async def test_n_shows_and_hides_the_nitpicks(repo, tmp_path, make_app):
    user_config_file().unlink()  # the suite lists everything (tests/conftest.py); not here
    repo.commit({"src/app/m1.py": "x = 1\n" * 20}, "one")
    workspace = workspace_for(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        await insert_tasks(store, 30, path_prefix="src/app/m")
    finally:
        await store.close()
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(QueuePane)
        low = {"low", "info"}
        shown = {t.severity.value for t in pane.tasks}
        assert shown and not shown & low
        hidden = pane.below_fold
        assert hidden > 0
        assert f"{hidden:,} below medium (N shows)" in str(pane.query_one("#queue-status").render())
        await pilot.press("N")
        assert {t.severity.value for t in pane.tasks} & low
        assert pane.total == len(shown and pane.tasks) and pane.below_fold == 0
        assert "nitpicks shown (N hides)" in str(pane.query_one("#queue-status").render())
        await pilot.press("N")
        assert not {t.severity.value for t in pane.tasks} & low and pane.below_fold == hidden


async def test_a_task_learning_demoted_below_the_fold_is_counted_apart(repo, tmp_path, make_app):
    user_config_file().unlink()
    repo.commit({"src/app/m1.py": "x = 1\n" * 20}, "one")
    workspace = workspace_for(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        await insert_tasks(store, 30, path_prefix="src/app/m")
        # What a rerank after rejections writes: a medium task at 31 (its severity starts at 40).
        demoted = await store.fetchval(
            "SELECT id FROM tasks WHERE severity = 'medium' AND state = 'pending' LIMIT 1"
        )
        async with store.transaction() as conn:
            await conn.execute(
                "UPDATE tasks SET priority = 31, confidence_reason = 'learning: -17 priority' "
                "WHERE id = ?",
                (demoted,),
            )
    finally:
        await store.close()
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(QueuePane)
        assert demoted not in {t.id for t in pane.tasks} and pane.hidden_by_learning == 1
        status = str(pane.query_one("#queue-status").render())
        assert f"{pane.below_fold:,} below medium, 1 by learning (N shows)" in status
        await pilot.press("N")
        assert demoted in {t.id for t in pane.tasks}
