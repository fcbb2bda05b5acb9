"""The queue's view as SQL (core/taskview.py), mutes (core/mutes.py), group headers in a window
(tui/panes/queue_rows.py) and the operator's editor command (tui/editor.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controlroom.core.mutes import active_mutes, mute, unmute
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.taskview import TaskView, group_counts, next_name
from controlroom.tui.editor import EditorError, editor_argv, file_in_repository
from controlroom.tui.panes.queue_rows import BASELINE_GROUP, GroupRow, with_headers
from tests.app.seed import insert_tasks


@pytest.fixture
async def queue(store: Store) -> TaskQueue:
    await insert_tasks(store, 60, path_prefix="src/m")
    return TaskQueue(store)


async def test_a_view_orders_groups_and_hides_what_is_muted(store, queue):
    by_file = TaskView(sort="priority", group="file")
    tasks = await queue.list(view=by_file, limit=100)
    assert [t.path for t in tasks] == sorted(t.path for t in tasks)
    folded = by_file.toggled("src/m0.py")
    assert await queue.count(view=folded) == 60 - 2  # 60 tasks over 40 files
    assert not any(t.path == "src/m0.py" for t in await queue.list(view=folded, limit=100))
    counts = await group_counts(store, ["src/m0.py", "src/m1.py"], states=None, search=None,
                                view=folded)  # fmt: skip
    assert counts == {"src/m0.py": 2, "src/m1.py": 2}  # a folded group is still counted
    made = await mute(store, "rule", "S307", now=1.0)
    assert await mute(store, "rule", "S307", now=2.0) == made  # muting twice: one mute
    hidden = TaskView(muted_rules=("S307",))
    assert await queue.count(view=hidden) == 50
    await mute(store, "path", "src/m1", now=3.0)  # a path prefix: src/m1.py, src/m10.py, ...
    hidden = TaskView(muted_rules=("S307",), muted_paths=("src/m1",))
    assert all(not t.path.startswith("src/m1") for t in await queue.list(view=hidden, limit=99))
    assert all(t.rule != "S307" for t in await queue.list(view=hidden, limit=99))
    counts = await group_counts(store, ["src/m2.py", "src/m0.py"], states=None, search=None,
                                view=TaskView(group="file", muted_rules=("S307",)))  # fmt: skip
    assert counts == {"src/m0.py": 1, "src/m2.py": 1}  # muted tasks are not counted in a group
    await unmute(store, made.id, now=4.0)
    assert [m.value for m in await active_mutes(store)] == ["src/m1"]
    # A sort of the filter's choosing never reaches the SQL: only known names.
    with pytest.raises(ValueError, match="unknown sort"):
        TaskView(sort="path; DROP TABLE tasks")


def test_the_grouping_key_cycles_back_to_none():
    names = ["file", "rule", "agent"]
    assert [next_name(names, g) for g in (None, "file", "rule", "agent")] == [
        "file", "rule", "agent", None,
    ]  # fmt: skip


def _tasks(paths):
    from controlroom.core.model import Severity, Task, TaskState

    return [
        Task(id=i, fingerprint=str(i), state=TaskState.PENDING, priority=1, confidence=0.5,
             confidence_reason="", severity=Severity.LOW, rule="R", path=p, line=1, message="",
             agents=["critic"], symbol=None, suggested_fix=None, first_seen_commit="c",
             last_seen_commit="c", seen_count=1, created_at=0.0, updated_at=0.0)
        for i, p in enumerate(paths)
    ]  # fmt: skip


def test_folded_headers_sit_where_their_group_sorts_in_every_window():
    tasks = _tasks(["b.py", "b.py", "d.py"])
    rows = with_headers(tasks, "path", counts={"a.py": 3, "b.py": 2, "c.py": 1, "d.py": 1, "e.py": 4},
                        folded=frozenset({"a.py", "c.py", "e.py"}), baseline_ids=set(),
                        baseline_count=0, at_start=True, at_end=True)  # fmt: skip
    shape = [(r.value, r.folded) if isinstance(r, GroupRow) else r.path for r in rows]
    assert shape == [("a.py", True), ("b.py", False), "b.py", "b.py", ("c.py", True),
                     ("d.py", False), "d.py", ("e.py", True)]  # fmt: skip
    # A later window (not at the start) does not repeat folded groups of earlier windows.
    later = with_headers(tasks[2:], "path", counts={}, folded=frozenset({"a.py", "c.py"}),
                         baseline_ids=set(), baseline_count=0, at_start=False, at_end=False)  # fmt: skip
    assert [r.value for r in later if isinstance(r, GroupRow)] == ["d.py"]


def test_the_baseline_section_has_its_own_header_and_keys():
    tasks = _tasks(["a.py", "a.py", "a.py"])
    rows = with_headers(tasks, "path", counts={"a.py": 3}, folded=frozenset(),
                        baseline_ids={2}, baseline_count=1, at_start=True, at_end=True)  # fmt: skip
    headers = [r for r in rows if isinstance(r, GroupRow)]
    assert [h.value for h in headers] == ["a.py", BASELINE_GROUP, "a.py"]
    assert len({h.key for h in headers}) == 3  # the table needs unique row keys


def test_the_editor_command_is_the_operators(tmp_path: Path):
    path = tmp_path / "x.py"
    assert editor_argv({"EDITOR": "vim"}, path, 42) == ["vim", "+42", str(path)]
    assert editor_argv({"VISUAL": "code -w", "EDITOR": "vim"}, path, 3) == [
        "code", "-w", "--goto", f"{path}:3",
    ]  # fmt: skip
    assert editor_argv({"EDITOR": "/usr/bin/hx"}, path, 0) == ["/usr/bin/hx", f"{path}:1"]
    with pytest.raises(EditorError, match="set \\$VISUAL or \\$EDITOR"):
        editor_argv({}, path, 1)


def test_a_stored_path_that_leaves_the_repository_is_refused(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "secret.txt").write_text("no\n")
    os.symlink(tmp_path / "secret.txt", repo / "src" / "link.py")
    assert file_in_repository(repo, "src/a.py") == (repo / "src" / "a.py").resolve()
    for hostile in ("../secret.txt", "src/link.py", "/etc/passwd"):
        with pytest.raises(EditorError, match="outside the repository"):
            file_in_repository(repo, hostile)
    with pytest.raises(EditorError, match="not in the working tree"):
        file_in_repository(repo, "src/gone.py")


async def test_a_mute_feeds_learning_and_lifting_it_takes_the_vote_back(store, queue):
    task = (await queue.list(limit=1))[0]
    made = await mute(store, "rule", task.rule, now=10.0, task=task)
    votes = await store.fetchall("SELECT rule, vote, task_id FROM learning_events")
    assert [tuple(v) for v in votes] == [(task.rule, -1, task.id)]  # as one rejection would
    assert (await queue.get(task.id)).state.value == "pending"  # the task itself is not decided
    await unmute(store, made.id, now=11.0)
    assert await store.fetchval("SELECT count(*) FROM learning_events") == 0
    assert await store.fetchval("SELECT removed_at FROM mutes WHERE id = ?", (made.id,)) == 11.0
