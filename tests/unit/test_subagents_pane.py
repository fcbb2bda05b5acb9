"""The Sub-agents pane in the real app: empty state, tables from the store, drain and details."""

from __future__ import annotations

from pathlib import Path

from controlroom.core.store import Store
from controlroom.core.subagents.registry import Registry
from controlroom.core.workspace import resolve_workspace
from controlroom.tui.app import create_app
from controlroom.tui.panes.subagents import SubagentsPane

SIZE = (100, 30)


async def _show(app, pilot) -> SubagentsPane:
    generation = app.refresh_generation
    await pilot.press("5")
    await app.wait_for_refresh(generation, timeout=5)
    await pilot.pause()
    return app.query_one(SubagentsPane)


def _app(workspace):
    app = create_app(workspace, background=False)
    app.animation_level = "none"
    return app


async def test_empty_state_is_honest(repo, tmp_path: Path):
    repo.commit({"a.py": "x = 1\n"})
    app = _app(resolve_workspace(repo.path, tmp_path / "state.db"))
    async with app.run_test(size=SIZE) as pilot:
        pane = await _show(app, pilot)
        assert "No sub-agents" in str(pane.query_one("#sa-status").render())
        assert "doc_sweep" in str(pane.query_one("#sa-hobbies").render())


async def test_drain_and_details(repo, tmp_path: Path):
    repo.commit({"a.py": "x = 1\n"})
    db = tmp_path / "state.db"
    store = await Store.open(db)
    await Registry(store).register("w1", ["docs"], max_concurrent=3, heartbeat_interval=600, pid=1)
    await store.execute(
        "INSERT INTO assignments (kind, capability, target, payload_json, state, subagent,"
        " created_at, finished_at, duration_s, result_json) VALUES ('probe', 'docs',"
        " 'probe:docs', '{}', 'completed', 'w1', 1, 2, 0.5, '{\"pid\": 1}')"
    )
    app = _app(resolve_workspace(repo.path, db))
    async with app.run_test(size=SIZE) as pilot:
        pane = await _show(app, pilot)
        assert [w.name for w in pane.subagents] == ["w1"]
        assert pane.subagents[0].completed == 1
        pane.query_one("#sa-workers").focus()
        await pilot.press("d")
        await pilot.pause()
        assert (await Registry(store).get("w1")).status == "draining"
        pane.query_one("#sa-assignments").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "AssignmentScreen"
    await store.close()


async def test_celery_workers_and_where_their_units_ran(repo, tmp_path: Path):
    """Celery workers as the coordinator's inspection stored them: name, host, queues, active,
    done, failed, heartbeat; the assignment list names the worker each unit ran on."""
    import time

    from controlroom.core.subagents.celery_app import CeleryWorker
    from controlroom.core.subagents.celery_monitor import record_workers

    repo.commit({"a.py": "x = 1\n"})
    db = tmp_path / "state.db"
    store = await Store.open(db)
    box = CeleryWorker("box@far", "far", ["controlroom.critic", "controlroom.probe"], 2, 9, 5, 77)
    await record_workers(store, {box.name: box}, now=time.time())
    for state in ("completed", "completed", "failed"):
        await store.execute(
            "INSERT INTO assignments (kind, capability, target, payload_json, state, subagent,"
            " created_at, finished_at, duration_s) VALUES ('agent', 'critic', 'critic@abc', '{}',"
            " ?, 'box@far', 1, 2, 0.5)",
            (state,),
        )
    app = _app(resolve_workspace(repo.path, db))
    async with app.run_test(size=SIZE) as pilot:
        pane = await _show(app, pilot)
        (worker,) = pane.subagents
        assert (worker.name, worker.status, worker.load, worker.max_concurrent) == (
            "box@far",
            "live",
            2,
            5,
        )
        assert worker.capabilities == ("celery", "critic", "probe")
        assert (worker.completed, worker.failed) == (2, 1)
        table = pane.query_one("#sa-workers")
        assert "box@far" in str(table.get_row_at(0)[0])
        assert "1 live sub-agent(s)" in str(pane.query_one("#sa-status").render())
        where = pane.query_one("#sa-assignments")
        assert {str(where.get_row_at(i)[3]) for i in range(where.row_count)} == {"box@far"}
    await store.close()
