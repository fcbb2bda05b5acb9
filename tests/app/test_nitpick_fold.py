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
