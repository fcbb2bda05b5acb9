"""Nitpicks of one rule in one commit are one task listing them (core/grouping.py), on a real
repository with the real docs agent: items leave the list as they are fixed at HEAD, the group
resolves when all are gone, and the docs agent applies every draft of a group."""

from __future__ import annotations

import ast

from controlroom.core.analysis import AnalysisService, fixing_agents, load_enabled_agents
from controlroom.core.apply import apply_task
from controlroom.core.config import load_config
from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.workspace import Workspace

NAMES = [f"step_{n:02d}" for n in range(12)]


def module(documented: set[str] = frozenset()) -> str:
    parts = ['"""Steps."""\n']
    for name in NAMES:
        doc = f'    """Run {name}."""\n' if name in documented else ""
        parts.append(f"\n\ndef {name}(value):\n{doc}    return round(value * 1.5, 2)\n")
    return "".join(parts)


def workspace(repo, tmp_path) -> Workspace:
    config = load_config(repo.path).with_overrides({"agents.enabled": ["docs"]})
    return Workspace(repo.path, config, tmp_path / "state.db")


def service(store, ws: Workspace) -> AnalysisService:
    agents, missing = load_enabled_agents(ws.config, ["docs"])
    assert not missing
    return AnalysisService(store, ws, agents=agents)


async def doc100(queue: TaskQueue) -> list:
    return [t for t in await queue.list() if t.rule == "DOC100"]


async def test_twelve_undocumented_functions_are_one_task_two_stay_two(repo, store, tmp_path):
    two = '"""Two."""\n\n\ndef one(x):\n    return x\n\n\ndef two(x):\n    return x\n'
    first = repo.commit({"lib/two.py": two}, "two functions")
    head = repo.commit({"pkg/steps.py": module()}, "twelve steps")
    ws = workspace(repo, tmp_path)
    analysis = service(store, ws)
    await analysis.analyze(first)
    queue = TaskQueue(store, ws.config)
    below = await doc100(queue)
    assert sorted(t.symbol for t in below) == ["one", "two"]  # under group_min: one task each

    report = await analysis.analyze(head)
    tasks = [t for t in await doc100(queue) if t.path == "pkg/steps.py"]
    assert len(tasks) == 1  # old code: 12 tasks, one per function
    group = tasks[0]
    assert group.message.startswith("DOC100 x12 in pkg/ (first: pkg/steps.py:4 step_00)")
    items = await queue.findings(group.id)
    assert [f.symbol for f in items] == NAMES
    assert all(f.path == "pkg/steps.py" and f.rule == "DOC100" for f in items)
    assert {f["task_id"] for f in report.findings if f["rule"] == "DOC100"} == {group.id}

    await analysis.analyze(head, rerun=True)  # a re-analysis keeps the one group
    again = [t for t in await doc100(queue) if t.path == "pkg/steps.py"]
    assert [(t.id, t.fingerprint) for t in again] == [(group.id, group.fingerprint)]
    assert len(await queue.findings(group.id)) == 12
    assert len(await doc100(queue)) == 3


async def test_fixed_items_leave_the_group_and_all_fixed_resolves_it(repo, store, tmp_path):
    first = repo.commit({"pkg/steps.py": module()}, "twelve steps")
    ws = workspace(repo, tmp_path)
    analysis = service(store, ws)
    await analysis.analyze(first)
    queue = TaskQueue(store, ws.config)
    (group,) = await doc100(queue)

    five = set(NAMES[:5])
    await analysis.analyze(repo.commit({"pkg/steps.py": module(five)}, "document five"))
    (after,) = await doc100(queue)
    assert after.id == group.id and after.state is TaskState.PENDING
    assert [f.symbol for f in await queue.findings(group.id)] == NAMES[5:]  # old code: 12
    assert after.message.startswith("DOC100 x7 in pkg/ (first: pkg/steps.py:")
    assert "step_05" in after.message

    fixed = repo.commit({"pkg/steps.py": module(set(NAMES))}, "document all")
    report = await analysis.analyze(fixed)
    done = await queue.get(group.id)
    assert done.state is TaskState.RESOLVED and done.resolved_commit == fixed
    assert group.id in [ref.id for ref in report.enqueued.resolved]


async def test_apply_on_a_docs_group_applies_every_draft(repo, store, tmp_path):
    head = repo.commit({"pkg/steps.py": module()}, "twelve steps")
    ws = workspace(repo, tmp_path)
    await service(store, ws).analyze(head)
    queue = TaskQueue(store, ws.config)
    (group,) = await doc100(queue)
    await queue.decide(group.id, TaskState.APPROVED)
    result = await apply_task(store, ws, group.id, agents=fixing_agents(ws.config))
    assert result.state == "applied", result.summary
    assert "added 12 of 12 docstrings" in result.summary
    text = repo.git("show", f"{result.branch}:pkg/steps.py")
    functions = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    assert [ast.get_docstring(f) is not None for f in functions] == [True] * 12


async def test_a_group_of_an_agent_without_a_group_fix_is_left_to_a_person(repo, store, tmp_path):
    head = repo.commit({"pkg/steps.py": module()}, "twelve steps")
    config = load_config(repo.path).with_overrides(
        {"agents.enabled": ["tests"], "tests.generate": False}
    )
    ws = Workspace(repo.path, config, tmp_path / "state.db")
    agents, _ = load_enabled_agents(ws.config, ["tests"])
    await AnalysisService(store, ws, agents=agents).analyze(head)
    queue = TaskQueue(store, ws.config)
    (group,) = [t for t in await queue.list() if t.rule == "TEST001"]  # old code: 12 tasks
    assert group.message.startswith("TEST001 x12 in pkg/")
    await queue.decide(group.id, TaskState.APPROVED)
    result = await apply_task(store, ws, group.id, agents=fixing_agents(ws.config))
    assert result.state == "approved"
    assert result.summary.startswith("no automatic fix for TEST001")
