"""``controlroom tasks``: a header, open tasks by default, the filter language, an empty line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.tui.commands.tasks import HEADER
from tests.app.seed import insert_tasks
from tests.e2e.cli import run

# Far ahead, so the listing's own clock never wakes the task; snoozed for the default 24 h.
UNTIL = datetime(2036, 11, 29, 14, 0, tzinfo=UTC).timestamp()
SNOOZED_AT = UNTIL - 24 * 3600


@pytest.fixture
async def queue_repo(repo, tmp_path: Path):
    repo.commit({"a.py": "x = 1\n"})
    db = tmp_path / "state.db"
    store = await Store.open(db)
    try:
        await insert_tasks(store, 6, path_prefix="src/app/m")
        await insert_tasks(store, 6, start=6, path_prefix="tests/unit/t")
        rows = await store.fetchall("SELECT id, rule, path FROM tasks ORDER BY id")
        ids = {(r["rule"], r["path"]): r["id"] for r in rows}
        queue = TaskQueue(store, clock=lambda: SNOOZED_AT)
        await queue.decide(ids[("S602", "src/app/m1.py")], TaskState.REJECTED)
        await queue.decide(ids[("B006", "src/app/m2.py")], TaskState.SNOOZED)
        await store.execute(
            "UPDATE tasks SET state = 'resolved' WHERE id = ?",
            (ids[("C901", "tests/unit/t11.py")],),
        )
    finally:
        await store.close()
    return ["--repo", str(repo.path), "--db", str(db)]


def listed(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_header_open_states_by_default_and_the_snooze_end(queue_repo):
    result = run("tasks", *queue_repo)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER and "age" in lines[0]
    assert len(lines) == 1 + 10  # 12 tasks less the rejected and the resolved one
    assert not any(" rejected " in line or " resolved " in line for line in lines)
    assert "(0h)" not in result.stdout and "h)" not in result.stdout
    [snoozed] = [line for line in lines if " snoozed " in line]
    assert snoozed.endswith("(snoozed until 2036-11-29 14:00 UTC)")
    everything = listed(run("tasks", *queue_repo, "--state", "all", "--json"))
    assert len(everything) == 12
    [record] = [t for t in everything if t["state"] == "snoozed"]
    assert record["snoozed_until"] == UNTIL
    assert all(t["snoozed_until"] is None for t in everything if t["state"] != "snoozed")
    rejected = listed(run("tasks", *queue_repo, "--state", "rejected", "--json"))
    assert [t["path"] for t in rejected] == ["src/app/m1.py"]


def test_an_empty_result_says_so(queue_repo):
    result = run("tasks", *queue_repo, "--search", "nothing-like-this")
    assert result.returncode == 0
    assert result.stdout == "no open tasks match 'nothing-like-this'\n"
    result = run("tasks", *queue_repo, "--state", "applied")
    assert result.stdout == "no tasks in state applied\n"


def test_search_uses_the_filter_language(queue_repo):
    # "critic S307": two words, each must match (agents, rule) -- not the phrase "critic S307"
    found = listed(run("tasks", *queue_repo, "--search", "critic S307", "--json"))
    assert {(t["rule"], t["path"]) for t in found} == {
        ("S307", "src/app/m0.py"),
        ("S307", "tests/unit/t6.py"),
    }
    tests_only = listed(run("tasks", *queue_repo, "--search", "path:tests/", "--json"))
    assert tests_only and all(t["path"].startswith("tests/") for t in tests_only)
    assert len(tests_only) == 5  # t11 is resolved
    not_tests = listed(run("tasks", *queue_repo, "--search", "-path:tests/ -agent:tests", "--json"))
    assert {t["path"] for t in not_tests} == {"src/app/m2.py", "src/app/m4.py", "src/app/m5.py"}
    high = listed(run("tasks", *queue_repo, "--search", 'sev:>=high "task 6:"', "--json"))
    assert [t["path"] for t in high] == ["tests/unit/t6.py"]
    resolved = listed(run("tasks", *queue_repo, "--search", "state:resolved", "--json"))
    assert [t["path"] for t in resolved] == ["tests/unit/t11.py"]


def test_a_bad_filter_is_one_line_and_exit_2(queue_repo):
    result = run("tasks", *queue_repo, "--search", "sev:urgent")
    assert result.returncode == 2
    assert result.stderr.startswith("controlroom: error: --search: unknown severity 'urgent'")
    assert len(result.stderr.splitlines()) == 1
