"""Resolution within the flagged definition, on real repositories with the real critic: a copy of
the line in another function keeps nothing alive, an edit inside a multi-line statement counts,
and a removed function takes its problems with it."""

from __future__ import annotations

from controlroom.core.analysis import AnalysisService, load_enabled_agents
from controlroom.core.config import load_config
from controlroom.core.model import FileChange, FileStatus, TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.resolution import GONE, Scopes, definition_ranges
from controlroom.core.workspace import Workspace

TWO = "def first(text):\n    return eval(text)\n\n\ndef second(text):\n    return eval(text)\n"
MULTI = (
    "import subprocess\n\n\n"
    "def run(cmd):\n    return subprocess.run(\n        cmd,\n        shell=True,\n    )\n"
)


def service_for(repo, store, tmp_path) -> AnalysisService:
    config = load_config(repo.path).with_overrides({"agents.enabled": ["critic"]})
    ws = Workspace(repo.path, config, tmp_path / "state.db")
    agents, _ = load_enabled_agents(config, ["critic"])
    return AnalysisService(store, ws, agents=agents)


async def states(store) -> dict[tuple[str | None, str], TaskState]:
    return {(t.symbol, t.rule): t.state for t in await TaskQueue(store).list(states=None)}


async def test_a_copy_of_the_line_in_another_function_does_not_keep_a_fix_open(
    repo, store, tmp_path
):
    repo.commit({"m.py": TWO}, "two evals")
    service = service_for(repo, store, tmp_path)
    await service.analyze(repo.head())
    assert (await states(store))[("first", "S307")] is TaskState.PENDING
    fixed = repo.commit({"m.py": TWO.replace("return eval(text)", "return text", 1)}, "fix first")
    report = await service.analyze(fixed)
    after = await states(store)
    assert after[("first", "S307")] is TaskState.RESOLVED  # old code: alive (same text in second)
    assert after[("second", "S307")] is TaskState.PENDING
    assert [r.rule for r in report.enqueued.resolved] == ["S307"]


async def test_an_edit_on_a_later_line_of_the_flagged_statement_counts(repo, store, tmp_path):
    repo.commit({"m.py": MULTI}, "shell")
    service = service_for(repo, store, tmp_path)
    await service.analyze(repo.head())
    rules = {rule for (_symbol, rule) in await states(store)}
    flagged = next(r for r in rules if r.startswith("S60"))
    fixed = repo.commit({"m.py": MULTI.replace("shell=True", "shell=False")}, "no shell")
    await service.analyze(fixed)
    assert (await states(store))[("run", flagged)] is TaskState.RESOLVED


async def test_a_removed_function_takes_its_problems_with_it(repo, store, tmp_path):
    repo.commit({"m.py": TWO}, "two evals")
    service = service_for(repo, store, tmp_path)
    await service.analyze(repo.head())
    without_first = TWO.split("\n\n\n", 1)[1]
    kept = "def first(text):\n    return text\n\n\n" + without_first.replace("second", "third")
    head = repo.commit({"m.py": kept + "\n\ndef second(text):\n    return eval(text)\n"}, "move")
    await service.analyze(head)
    after = await states(store)
    assert after[("first", "S307")] is TaskState.RESOLVED
    assert after[("second", "S307")] is TaskState.PENDING  # moved, still there


def test_scopes_know_a_definition_the_commit_removed():
    change = FileChange(
        "m.py", FileStatus.MODIFIED, old_text=TWO, new_text=TWO.split("\n\n\n", 1)[1]
    )
    scopes = Scopes()
    assert scopes.of(change, "first") is GONE
    assert scopes.of(change, "second") == (1, 2)
    assert scopes.of(change, "not.a.definition") is None  # a name neither side has: whole file
    assert definition_ranges("def (:\n") is None


OVERLOADED = (
    "import typing as t\n\n\n"
    "class Headers:\n"
    "    @t.overload\n    def pop(self, key: int) -> str: ...\n"
    "    @t.overload\n    def pop(self, key: str) -> str: ...\n"
    "    def pop(self, key):\n        return eval(key)\n"
)


async def test_a_new_overload_above_the_flagged_implementation_resolves_nothing(
    repo, store, tmp_path
):
    """werkzeug 3.1.1 added ``@overload`` stubs above ``Headers.pop``: its implementation, where
    the problem is, was unchanged, and the task stays open (the first stub is not its scope)."""
    repo.commit({"h.py": OVERLOADED}, "headers")
    service = service_for(repo, store, tmp_path)
    await service.analyze(repo.head())
    assert (await states(store))[("Headers.pop", "S307")] is TaskState.PENDING
    stub = "    @t.overload\n    def pop(self) -> str: ...\n"
    more = OVERLOADED.replace("class Headers:\n", "class Headers:\n" + stub)
    await service.analyze(repo.commit({"h.py": more}, "one more overload"))
    assert (await states(store))[("Headers.pop", "S307")] is TaskState.PENDING
    assert definition_ranges(more)["Headers.pop"] == (5, 12)  # every def of the name
