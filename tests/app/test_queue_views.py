"""The Queue pane's view keys with Pilot at 80x24: sort (o), group (v) and fold (z), open in the
editor (e), copy path:line (y), mute a rule (m, undone by u, ^u lifts all), footer keys."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest

from controlroom.core.store import Store
from controlroom.tui.panes.queue import QueuePane
from controlroom.tui.panes.queue_rows import GroupRow
from tests.app.seed import insert_tasks, workspace_for

SIZE = (80, 24)


@pytest.fixture
async def many(repo, tmp_path):
    """60 tasks over 40 files of src/ and tests/, six rules (plain inserts, fixed values)."""
    repo.commit({"src/app/m1.py": "x = 1\n" * 20}, "one")
    workspace = workspace_for(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        await insert_tasks(store, 30, path_prefix="src/app/m")
        await insert_tasks(store, 30, start=30, path_prefix="tests/unit/t")
    finally:
        await store.close()
    return workspace


def pane_of(app) -> QueuePane:
    return app.query_one(QueuePane)


async def test_o_cycles_the_sort_column(many, make_app):
    app = make_app(many)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        assert pane.view.sort == "priority"
        await pilot.press("o")
        assert pane.view.sort == "severity"
        ranks = ["critical", "high", "medium", "low", "info"]
        assert [ranks.index(t.severity.value) for t in pane.tasks] == sorted(
            ranks.index(t.severity.value) for t in pane.tasks
        )
        await pilot.press("o")
        assert pane.view.sort == "file"
        keys = [(t.path, t.line) for t in pane.tasks]
        assert keys == sorted(keys)
        assert "sort: file" in str(pane.query_one("#queue-status").render())


async def test_v_groups_by_file_then_rule_and_z_folds(many, make_app):
    app = make_app(many)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        await pilot.press("v")
        assert pane.view.group == "file"
        headers = [r for r in pane.rows if isinstance(r, GroupRow)]
        assert headers and isinstance(pane.rows[0], GroupRow)
        assert [h.value for h in headers] == sorted(h.value for h in headers)
        first = headers[0]
        assert first.count == sum(1 for t in pane.tasks if t.path == first.value)
        assert "by file" in str(pane.query_one("#queue-status").render())
        # The cursor stays on the task it was on; g goes to the first row, a header.
        assert pane.current_task() is not None
        await pilot.press("g")
        # Actions on a task make no sense on a header: they are hidden there.
        assert pane.current_task() is None
        assert app.screen.active_bindings.get("a") is None
        # z folds the group under the cursor: its tasks leave, its header stays, marked folded.
        await pilot.press("z")
        assert first.value in pane.view.collapsed
        folded = pane.rows[0]
        assert isinstance(folded, GroupRow) and folded.folded and folded.value == first.value
        assert folded.count == first.count
        assert not any(t.path == first.value for t in pane.tasks)
        assert str(pane.table.get_row_at(0)[0]) == "+"
        await pilot.press("enter")  # enter on a header folds or unfolds too
        await pilot.pause()
        assert first.value not in pane.view.collapsed
        assert any(t.path == first.value for t in pane.tasks)
        await pilot.press("v")
        assert pane.view.group == "rule"
        rules = [r.value for r in pane.rows if isinstance(r, GroupRow)]
        assert rules == sorted(set(rules)) and "S307" in rules
        await pilot.press("v", "v")
        assert pane.view.group == "commit"
        commits = [r for r in pane.rows if isinstance(r, GroupRow)]
        assert commits and all(len(r.value) == 40 for r in commits)
        header = "".join(str(c) for c in pane.table.get_row_at(0))
        assert f"commit {commits[0].value[:10]}" in header
        await pilot.press("v")
        assert pane.view.group is None
        assert not any(isinstance(r, GroupRow) for r in pane.rows)


async def test_y_copies_path_and_line(many, make_app):
    app = make_app(many)
    async with app.run_test(size=SIZE) as pilot:
        task = pane_of(app).current_task()
        await pilot.press("y")
        assert app.clipboard == f"{task.path}:{task.line}"


EDITOR_SCRIPT = """import json, os, sys
with open(os.environ["EDITOR_LOG"], "w") as out:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd()}, out)
"""


async def test_e_opens_the_operators_editor_at_the_line(many, make_app, tmp_path, monkeypatch):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR_SCRIPT)
    log = tmp_path / "editor.json"
    monkeypatch.setenv("EDITOR_LOG", str(log))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    app = make_app(many)
    suspended = []

    @contextlib.contextmanager
    def suspend():  # the headless test driver cannot hand the terminal over
        suspended.append(True)
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        while pane.current_task().path != "src/app/m1.py":
            await pilot.press("j")
        task = pane.current_task()
        await pilot.press("e")
        assert suspended == [True]
        called = json.loads(log.read_text())
        root = Path(many.repo_path).resolve()
        assert called["argv"] == [f"+{task.line}", str(root / "src/app/m1.py")]
        assert Path(called["cwd"]).resolve() == root


async def test_e_refuses_a_path_outside_the_repository(many, make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", "true")
    store = await Store.open(many.db_path)
    try:
        await store.execute(
            "UPDATE tasks SET path = '../../etc/passwd', priority = 999 WHERE id = 1"
        )
    finally:
        await store.close()
    app = make_app(many)
    monkeypatch.setattr(app, "suspend", lambda: pytest.fail("no editor for that path"))
    async with app.run_test(size=SIZE) as pilot:
        assert pane_of(app).current_task().id == 1
        await pilot.press("e")
        await pilot.pause()
        assert any("outside the repository" in n.message for n in app._notifications)


async def test_m_mutes_the_rule_and_u_brings_it_back(many, make_app):
    app = make_app(many)
    async with app.run_test(size=SIZE) as pilot:
        pane = pane_of(app)
        rule = pane.current_task().rule
        before = pane.total
        await pilot.press("m")
        assert all(t.rule != rule for t in pane.tasks)
        assert pane.total == before - 10  # 60 tasks, six rules
        assert f"muted: {rule}" in str(pane.query_one("#queue-status").render())
        store = await Store.open(many.db_path)
        try:
            rows = await store.fetchall("SELECT value FROM mutes WHERE removed_at IS NULL")
        finally:
            await store.close()
        assert [r[0] for r in rows] == [rule]  # durable, listed
        await pilot.press("u")
        assert pane.total == before and any(t.rule == rule for t in pane.tasks)
        await pilot.press("m", "m")  # two rules
        assert pane.total == before - 20
        await pilot.press("ctrl+u")
        assert pane.total == before and not pane.mutes
        path = pane.current_task().path
        await pilot.press("M")  # the file
        assert not any(t.path == path for t in pane.tasks) and pane.total < before
        assert f"muted: {path}" in str(pane.query_one("#queue-status").render())
        await pilot.press("u")
        assert pane.total == before


async def test_the_footer_shows_bulk_keys_only_while_rows_are_marked(many, make_app):
    app = make_app(many)
    async with app.run_test(size=SIZE) as pilot:
        bindings = app.screen.active_bindings
        assert "A" not in bindings and "R" not in bindings
        await pilot.press("space")
        bindings = app.screen.active_bindings
        assert bindings["A"].binding.show and bindings["R"].binding.show
        footer = app.query_one("Footer")
        await pilot.pause()
        keys = {str(k.key_display or k.key): k for k in footer.query("FooterKey")}
        assert {"A", "R", "?", "q"} <= set(keys)
        # Within 80 columns, up to "q Quit": nothing cut.
        assert all(k.region.right <= SIZE[0] for k in keys.values()), {
            name: k.region for name, k in keys.items()
        }


async def test_the_palette_offers_only_what_the_row_allows(many, make_app):
    from tests.app.test_app_shell import palette_labels

    app = make_app(many)
    async with app.run_test(size=SIZE) as pilot:
        labels = await palette_labels(app)
        assert {"Approve (a)", "Edit (e)", "Mute rule (m)", "Sort (o)"} <= set(labels)
        assert "Fold group (z)" not in labels and "Unmute all (^u)" not in labels
        assert "Approve * (A)" not in labels  # nothing marked
        await pilot.press("v", "g")  # grouped, the cursor on the first header
        labels = await palette_labels(app)
        assert "Fold group (z)" in labels
        assert not {"Approve (a)", "Reject (r)", "Edit (e)", "Mute rule (m)"} & set(labels)
        await pilot.press("j", "space")
        labels = await palette_labels(app)
        assert "Approve * (A)" in labels and "Reject * (R)" in labels
