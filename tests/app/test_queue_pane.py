"""The Queue pane with Pilot at 80x24: real repository, real store seeded by the real pipeline."""

from __future__ import annotations

from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.tui.panes.queue import QueuePane
from controlroom.tui.screens.prompt import LinePrompt
from controlroom.tui.screens.task_details import TaskDetailsScreen

SIZE = (80, 24)


async def states_in_store(workspace) -> dict[int, tuple[str, str | None]]:
    """Read the tasks through a separate connection: what is durable, not what the app shows."""
    store = await Store.open(workspace.db_path)
    try:
        rows = await store.fetchall("SELECT id, state, reason FROM tasks ORDER BY id")
        return {r["id"]: (r["state"], r["reason"]) for r in rows}
    finally:
        await store.close()


def queue_pane(app) -> QueuePane:
    return app.query_one(QueuePane)


async def test_tasks_appear_in_priority_order(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE):
        pane = queue_pane(app)
        assert pane.table.row_count == 4
        assert pane.tasks[0].rule == "S307"  # critical first
        priorities = [(t.priority, t.confidence) for t in pane.tasks]
        assert priorities == sorted(priorities, reverse=True)
        assert app.focused is pane.table  # keys work at once, no click needed
        assert str(pane.table.get_row_at(0)[1]) == "CRIT"  # a label, not a colour


async def test_approve_then_undo_are_written_at_once(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        first = queue_pane(app).current_task()
        await pilot.press("a")
        assert (await states_in_store(seeded))[first.id][0] == "approved"
        assert queue_pane(app).tasks[0].state is TaskState.APPROVED  # the row, in place
        assert str(queue_pane(app).table.get_cell(str(first.id), "state")) == "approved"
        await pilot.press("u")
        assert (await states_in_store(seeded))[first.id][0] == "pending"
        assert str(queue_pane(app).table.get_cell(str(first.id), "state")) == "pending"


async def test_reject_asks_for_an_optional_reason(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        second = queue_pane(app).current_task()
        await pilot.press("r")
        assert isinstance(app.screen, LinePrompt)
        await pilot.press(*"jk q1", "enter")  # letters go to the prompt, not to bindings
        assert (await states_in_store(seeded))[second.id] == ("rejected", "jk q1")
        assert not isinstance(app.screen, LinePrompt)
        # esc cancels: nothing is decided
        await pilot.press("j", "r", "escape")
        third = queue_pane(app).current_task()
        assert (await states_in_store(seeded))[third.id][0] == "pending"


async def test_snooze_and_marked_bulk_approve(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        pane = queue_pane(app)
        ids = [t.id for t in pane.tasks]
        await pilot.press("s")
        assert pane.table.cursor_row == 1  # the cursor moved on to the next task
        await pilot.press("j", "space", "space", "A")  # marks rows 3 and 4
        states = await states_in_store(seeded)
        assert states[ids[0]][0] == "snoozed"
        assert states[ids[2]][0] == "approved" and states[ids[3]][0] == "approved"
        assert states[ids[1]][0] == "pending"
        assert pane.marked == set()


async def test_bulk_reject_with_reason(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        ids = [t.id for t in queue_pane(app).tasks]
        await pilot.press("space", "space", "R", *"noise", "enter")
        states = await states_in_store(seeded)
        assert states[ids[0]] == ("rejected", "noise") and states[ids[1]] == ("rejected", "noise")
        await pilot.press("u")  # one undo takes back the whole bulk decision
        states = await states_in_store(seeded)
        assert states[ids[0]][0] == "pending" and states[ids[1]][0] == "pending"


async def test_filter_narrows_and_clears(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        pane = queue_pane(app)
        await pilot.press("slash", *"S602", "enter")
        assert [t.rule for t in pane.tasks] == ["S602"]
        assert pane.total == 1
        await pilot.press("a")
        # the prompt opens with the current filter selected: typing replaces it
        await pilot.press("slash", *"S602 state:pending", "enter")
        assert pane.tasks == []
        assert app.query_one("#queue-empty").display
        await pilot.press("slash", "backspace", "enter")  # empty: no filter
        assert pane.total == 4 and pane.filter_text == ""


async def test_a_r_s_move_the_cursor_to_the_next_task(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        pane = queue_pane(app)
        ids = [t.id for t in pane.tasks]
        await pilot.press("a")
        assert pane.current_task().id == ids[1]
        await pilot.press("r", "enter")
        assert pane.current_task().id == ids[2]
        await pilot.press("s")
        assert pane.current_task().id == ids[3]
        assert pane.update_status() is None and "4 of 4" in str(
            app.query_one("#queue-status").content
        )
        states = await states_in_store(seeded)
        assert [states[i][0] for i in ids[:3]] == ["approved", "rejected", "snoozed"]
        await pilot.press("u", "k", "k", "k", "space", "space", "A")  # marks rows 1 and 2
        assert pane.current_task().id == ids[2]  # the first row after them that was not marked


async def test_bulk_moves_to_the_first_unmarked_row(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        pane = queue_pane(app)
        ids = [t.id for t in pane.tasks]
        await pilot.press("j", "space", "space", "k", "k", "k", "space", "R", "enter")
        assert pane.current_task().id == ids[3]  # rows 1-3 were marked: row 4 is next


async def test_two_word_filter_and_fields(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        pane = queue_pane(app)
        await pilot.press("slash", *"critic S307", "enter")
        assert [t.rule for t in pane.tasks] == ["S307"]
        await pilot.press("slash", *"-agent:critic sev:>=high", "enter")
        assert [t.rule for t in pane.tasks] == ["T001"]
        await pilot.press("slash", *"sev:bogus", "enter")
        assert any("Bad filter" in n.message for n in app._notifications)
        assert pane.filter_text == "-agent:critic sev:>=high"  # the bad one was not applied


async def test_details_show_agents_code_and_generated_work(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        # the tests agent's T001 task carries a generated test (found by filter: sharing a
        # symbol with the critic's finding no longer lifts its priority into second place)
        await pilot.press("slash", *"T001", "enter")
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TaskDetailsScreen)
        text = str(screen.query_one("#details-text").content)
        assert ">5 |     value = eval(input())" in text  # the flagged line, marked
        assert " 4 | def main():" in text
        assert "tests / test:" in text and "def test_main():" in text
        assert "tests / validation: passed" in text
        assert "avoid eval(" in text  # suggested fix
        await pilot.press("escape")
        assert not isinstance(app.screen, TaskDetailsScreen)


async def test_decisions_refused_in_read_only_mode(seeded, make_app):
    app = make_app(seeded, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        before = await states_in_store(seeded)
        await pilot.press("a", "r", "s", "space", "A", "R", "u")
        assert await states_in_store(seeded) == before
        assert not isinstance(app.screen, LinePrompt)
        pane = queue_pane(app)
        assert pane.check_action("approve", ()) is False
        assert pane.check_action("details", ()) is True
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "approve" not in shown and "mark" not in shown and "filter" in shown
        await pilot.press("enter")
        assert isinstance(app.screen, TaskDetailsScreen)  # reading still works


async def test_decide_refused_by_the_core_is_a_notice_not_a_crash(seeded, make_app):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        task = queue_pane(app).current_task()
        store = await Store.open(seeded.db_path)
        try:  # another process resolved it meanwhile
            await store.execute("UPDATE tasks SET state = 'resolved' WHERE id = ?", (task.id,))
        finally:
            await store.close()
        await pilot.press("a")
        assert any("cannot become" in n.message for n in app._notifications)
        assert (await TaskQueue(app.store).get(task.id)).state is TaskState.RESOLVED


async def test_x_carries_out_the_approved_task_in_the_background(workspace, repo, make_app):
    from controlroom.agents.docs.agent import DocWriterAgent
    from tests.app.seed import analyze

    await analyze(workspace, repo.head(), agents=[DocWriterAgent()])
    app = make_app(workspace)
    async with app.run_test(size=SIZE) as pilot:
        pane = queue_pane(app)
        while pane.current_task().rule != "DOC100":
            await pilot.press("j")
        task = pane.current_task()
        await pilot.press("x")  # pending: refused, nothing written
        assert (await states_in_store(workspace))[task.id][0] == "pending"
        await pilot.press("a", "x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        state, reason = (await states_in_store(workspace))[task.id]
        assert state == "applied" and f"controlroom/task-{task.id}" in reason
        assert str(pane.table.get_cell(str(task.id), "state")) == "applied"
    assert '"""Call ``eval()``' in repo.git("show", f"controlroom/task-{task.id}:app/main.py")
