"""The Learning screen (``L``): learned rules with their evidence, deleted with ``d`` and brought
back with ``u``; the knowledge base's size, success rate and top failures."""

from __future__ import annotations

from textual.widgets import Static

from controlroom.core.fixmemory import record_attempt
from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.tui.screens.learning import LearningScreen
from controlroom.tui.widgets.key_table import KeyTable

SIZE = (80, 24)


async def decided(workspace) -> None:
    """The operator rejected the print() task; two fixes were attempted, one failed."""
    store = await Store.open(workspace.db_path)
    try:
        queue = TaskQueue(store)
        tasks = {t.rule: t for t in await queue.list()}
        await queue.decide(tasks["T201"].id, TaskState.REJECTED, reason="debug output is fine")
        for outcome, output in (
            ("failed", "ModuleNotFoundError: No module named 'yaml'"),
            ("applied", ""),
        ):
            await record_attempt(
                store, tasks["S602"], strategy="rewrite", agent="critic2", outcome=outcome,
                duration_s=1.0, summary="the check failed" if output else "fixed", output=output,
            )  # fmt: skip
    finally:
        await store.close()


async def events(app) -> int:
    return await app.store.fetchval("SELECT count(*) FROM learning_events")


async def test_l_shows_learned_rules_and_d_u_delete_and_bring_back(seeded, make_app) -> None:
    await decided(seeded)
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("L")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LearningScreen)
        table = screen.query_one(KeyTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:4] == ["T201", "app/ (non-test code)", "+0/-1", "1 local"]
        summary = str(screen.query_one("#learning-summary", Static).render())
        assert "2 attempts" in summary and "fix success 50%" in summary
        assert "import-error (yaml) x1" in summary

        await pilot.press("d")
        await pilot.pause()
        assert await events(app) == 0 and table.row_count == 0
        await pilot.press("u")
        await pilot.pause()
        assert await events(app) == 1 and table.row_count == 1
        await pilot.press("escape")
        assert not isinstance(app.screen, LearningScreen)


async def test_read_only_shows_but_never_deletes(seeded, make_app) -> None:
    await decided(seeded)
    app = make_app(seeded, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, LearningScreen)
        await pilot.press("d")
        await pilot.pause()
        assert await events(app) == 1
