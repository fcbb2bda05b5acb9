"""Carrying out approved tasks: real agents fix, verify and commit on a branch of a real repository."""

from __future__ import annotations

import pytest

from controlroom.agents.critic.agent import CriticAgent
from controlroom.agents.docs.agent import DocWriterAgent
from controlroom.agents.testgen.agent import TestGeneratorAgent
from controlroom.core.apply import apply_approved, apply_task
from controlroom.core.config import load_config
from controlroom.core.errors import InvalidTransition
from controlroom.core.model import TaskState
from controlroom.core.pipeline import analyze_commit
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace

MATHY = '''\
def double(n: int) -> int:
    return n * 2


def naive_double(n: int) -> int:
    return n + n


def name_of(obj: object) -> str:
    """The object's name."""
    return getattr(obj, "name")


def run(text: str) -> object:
    """Evaluate ``text``."""
    return eval(text)
'''


@pytest.fixture
async def analyzed(repo, tmp_path):
    """The repository with pkg/mathy.py analyzed by the critic and docs agents (the tests agent,
    slower, runs only where a test needs it); every agent can carry out tasks."""
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    sha = repo.commit({"pkg/__init__.py": '"""Package."""\n', "pkg/mathy.py": MATHY}, "mathy")
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    await analyze_commit(store, workspace, sha, [CriticAgent(), DocWriterAgent()])
    try:
        yield repo, workspace, store, [CriticAgent(), DocWriterAgent(), TestGeneratorAgent()]
    finally:
        await store.close()


async def task_for(store: Store, rule: str, symbol: str | None = None):
    tasks = await TaskQueue(store).list()
    found = [t for t in tasks if t.rule == rule and (symbol is None or t.symbol == symbol)]
    assert found, (rule, [(t.rule, t.symbol) for t in tasks])
    return found[0]


def branch_file(repo, branch: str, path: str) -> str:
    return repo.git("show", f"{branch}:{path}")


async def test_each_agent_fixes_verifies_and_commits_on_a_branch(analyzed) -> None:
    repo, workspace, store, agents = analyzed
    head, queue = repo.head(), TaskQueue(store)
    await analyze_commit(
        store, workspace, head, [TestGeneratorAgent()]
    )  # keeps the others' findings
    doc = await task_for(store, "DOC100", "double")
    lint = await task_for(store, "B009")
    test = await task_for(store, "TEST001", "double")
    await queue.decide_many([doc.id, lint.id, test.id], TaskState.APPROVED)

    results = {r.task_id: r for r in await apply_approved(store, workspace, agents=agents)}

    assert {r.state for r in results.values()} == {"applied"}, results
    documented = branch_file(repo, results[doc.id].branch, "pkg/mathy.py")
    assert 'def double(n: int) -> int:\n    """Return ``n * 2``.' in documented
    assert "return obj.name" in branch_file(repo, results[lint.id].branch, "pkg/mathy.py")
    test_file = branch_file(repo, results[test.id].branch, "tests/test_mathy_double_properties.py")
    assert "double" in test_file and "assert" in test_file
    for result in results.values():  # one commit on top of HEAD, by controlroom
        assert result.branch == f"controlroom/task-{result.task_id}"
        assert repo.git("rev-parse", f"{result.branch}~1") == head
        assert repo.git("log", "-1", "--format=%an", result.branch) == "controlroom"
    # The user's checkout is untouched: same HEAD, same branch, clean tree.
    assert repo.head() == head
    assert repo.git("symbolic-ref", "--short", "HEAD") == "main"
    assert repo.git("status", "--porcelain") == ""
    for task_id in results:
        task = await queue.get(task_id)
        assert task.state is TaskState.APPLIED
        last = (await queue.history(task_id))[-1]
        assert (last.from_state, last.to_state, last.actor) == (
            "approved",
            "applied",
            "controlroom",
        )
        assert f"controlroom/task-{task_id}" in last.reason


async def test_no_automatic_fix_leaves_the_task_approved(analyzed) -> None:
    repo, workspace, store, agents = analyzed
    queue = TaskQueue(store)
    security = await task_for(store, "S307")  # eval: ruff has no fix, a person decides
    module = await task_for(store, "DOC101")  # a module docstring is not drafted
    for task in (security, module):
        await queue.decide(task.id, TaskState.APPROVED)
        result = await apply_task(store, workspace, task.id, agents=agents)
        assert result.state == "approved" and "by hand" in result.summary
        assert (await queue.get(task.id)).state is TaskState.APPROVED
    assert repo.git("branch", "--list", "controlroom/*") == ""


async def test_a_fix_that_no_longer_holds_at_head_fails_with_the_reason(analyzed) -> None:
    repo, workspace, store, agents = analyzed
    queue = TaskQueue(store)
    doc = await task_for(store, "DOC100", "double")
    await queue.decide(doc.id, TaskState.APPROVED)
    # Someone documented it by hand meanwhile.
    repo.commit(
        {"pkg/mathy.py": MATHY.replace("    return n * 2", '    """Twice n."""\n    return n * 2')}
    )

    result = await apply_task(store, workspace, doc.id, agents=agents)

    assert result.state == "failed"
    assert result.summary == "double already has a docstring at HEAD"
    assert (await queue.get(doc.id)).state is TaskState.FAILED
    assert repo.git("branch", "--list", "controlroom/*") == ""
    await queue.decide(doc.id, TaskState.APPROVED)  # the operator may try again


async def test_only_approved_tasks_are_carried_out(analyzed) -> None:
    _repo, workspace, store, agents = analyzed
    queue = TaskQueue(store)
    doc = await task_for(store, "DOC100", "double")
    with pytest.raises(InvalidTransition, match="is pending; only approved tasks are applied"):
        await apply_task(store, workspace, doc.id, agents=agents)
    await queue.decide(doc.id, TaskState.REJECTED)
    with pytest.raises(InvalidTransition, match="no longer approved"):
        await queue.settle(doc.id, TaskState.APPLIED, reason="late")
    with pytest.raises(InvalidTransition):
        await queue.settle(doc.id, TaskState.PENDING, reason="not an outcome")


async def test_undo_of_the_approval_after_apply_is_refused(analyzed) -> None:
    _repo, workspace, store, agents = analyzed
    queue = TaskQueue(store)
    doc = await task_for(store, "DOC100", "double")
    await queue.decide(doc.id, TaskState.APPROVED)
    await apply_task(store, workspace, doc.id, agents=agents)
    with pytest.raises(InvalidTransition, match="changed since"):
        await queue.undo()


ONE_LINERS = '''\
import typing as t


def _immutable_error(obj: t.Any) -> t.NoReturn:
    raise TypeError(f"{type(obj).__name__!r} objects are immutable")


class FrozenList(list):
    """A list that refuses changes."""

    def append(self, item: t.Any) -> t.NoReturn:
        _immutable_error(self)

    def remove(self, item: t.Any) -> t.NoReturn:
        _immutable_error(self)

    def extend(self, items: t.Any) -> t.NoReturn:
        _immutable_error(self)
'''


async def test_offered_tests_of_one_statement_functions_are_one_task_applied_at_once(
    repo, tmp_path
):
    """Tests offered for one-statement functions rank as nitpicks: a commit's are grouped into
    one task, and applying it writes every one of them, each run again at HEAD."""
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    sha = repo.commit({"pkg/__init__.py": '"""Package."""\n', "pkg/small.py": ONE_LINERS})
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        await analyze_commit(store, workspace, sha, [TestGeneratorAgent()])
        queue = TaskQueue(store)
        (group,) = [t for t in await queue.list() if t.rule == "TEST001"]
        assert group.fingerprint.startswith("group:") and group.severity.value == "low"
        items = await queue.findings(group.id)
        assert len({f.symbol for f in items}) == 3
        assert all("one-statement function" in f.message for f in items)
        await queue.decide(group.id, TaskState.APPROVED)
        (result,) = await apply_approved(store, workspace, agents=[TestGeneratorAgent()])
        assert result.state == "applied", result
        written = repo.git("show", "--name-only", "--format=", result.branch).split()
        assert len(written) == 3 and all(p.startswith("tests/test_small_") for p in written)
        for path in written:
            assert "pytest.raises(TypeError)" in repo.git("show", f"{result.branch}:{path}")
    finally:
        await store.close()
