"""Fix-strategy memory: every apply attempt recorded with its failure parsed, the closest past
attempts retrieved (FTS5, BM25) and handed to the next attempt, strategies ordered by record, and
a fix that a later commit undoes counted against its strategy."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from controlroom.core.apply import FixOutcome, apply_task
from controlroom.core.config import load_config
from controlroom.core.embeddings import embedder
from controlroom.core.failures import parse_failure
from controlroom.core.fixmemory import (
    closest_attempts,
    describe,
    order_by_record,
    record_attempt,
    strategy_records,
)
from controlroom.core.model import Severity, Task, TaskState
from controlroom.core.pipeline import analyze_commit
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.workspace import Workspace
from tests.unit.apply_trust_helpers import FixerAgent

CALC = "def double(n: int) -> int:\n    return n * 2\n"
FIXED = "def double(n: int) -> int:\n    return n + n\n"


class Recorder(FixerAgent):
    """The trust tests' fixer, remembering the config each attempt was given."""

    fix_strategy = "rewrite-expression"

    def __init__(self, outcomes: list[FixOutcome], fixed: str = FIXED) -> None:
        super().__init__(self._next)
        self.outcomes = outcomes
        self.fixed = fixed
        self.configs: list[dict[str, Any]] = []

    async def apply_fix(self, task: Any, findings: Any, tree: Path, config: Any) -> Any:
        self.configs.append(config)
        return await super().apply_fix(task, findings, tree, config)

    async def _next(self, tree: Path) -> FixOutcome:
        outcome = self.outcomes.pop(0)
        if outcome.verified:
            (tree / "calc.py").write_text(self.fixed)
        return outcome


@pytest.fixture
async def setup(repo, tmp_path):
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    repo.commit({"calc.py": CALC}, "calc")
    workspace = Workspace(repo.path, load_config(repo.path), tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    try:
        yield repo, workspace, store
    finally:
        await store.close()


async def approve_host_task(store: Store, workspace: Workspace, agent, sha: str) -> int:
    await analyze_commit(store, workspace, sha, [agent])
    [task] = [t for t in await TaskQueue(store).list() if t.rule == "HOST001"]
    await TaskQueue(store).decide(task.id, TaskState.APPROVED)
    return task.id


async def attempts(store: Store) -> list[dict]:
    return [dict(r) for r in await store.fetchall("SELECT * FROM fix_attempts ORDER BY id")]


async def test_each_attempt_is_recorded_and_the_next_one_hears_what_failed(setup) -> None:
    repo, workspace, store = setup
    failing = FixOutcome(
        False,
        "the generated test failed",
        output="E   ModuleNotFoundError: No module named 'numpy'",
    )
    agent = Recorder([failing, FixOutcome(True, "rewrote double", ["calc.py"], model="m-1")])
    task_id = await approve_host_task(store, workspace, agent, repo.head())

    first = await apply_task(store, workspace, task_id, agents=[agent])
    await TaskQueue(store).decide(task_id, TaskState.APPROVED)  # the operator tries again
    second = await apply_task(store, workspace, task_id, agents=[agent])

    assert (first.state, second.state) == ("failed", "applied")
    rows = await attempts(store)
    assert [r["outcome"] for r in rows] == ["failed", "applied"]
    assert rows[0]["failure"] == "import-error" and rows[0]["failure_detail"] == "numpy"
    assert {r["strategy"] for r in rows} == {"rewrite-expression"}
    assert rows[0]["kind"] == "fixer:HOST" and rows[1]["model"] == "m-1"
    assert rows[1]["fix_commit"] == second.commit and rows[0]["duration_s"] >= 0
    assert '"added": ["return n + n"]' in rows[1]["changes_json"]
    assert agent.configs[0]["past_attempts"] == ""  # nothing to learn from yet
    brief = agent.configs[1]["past_attempts"]
    assert "What failed and why:" in brief and "import-error: numpy" in brief
    tag = brief.split("<", 2)[1].split(">")[0]  # the briefing is wrapped as repository data
    assert tag.startswith("repo_content_") and f"</{tag}>" in brief


MEANING = {"apply": {"retrieval": "meaning"}}


async def test_retrieval_by_meaning_is_the_operators_choice(setup) -> None:
    repo, workspace, store = setup
    workspace = replace(workspace, config=workspace.config.with_overrides(MEANING))
    failing = FixOutcome(False, "the generated test failed", output="E   assert 3 == 4")
    agent = Recorder([failing, FixOutcome(True, "rewrote double", ["calc.py"])])
    task_id = await approve_host_task(store, workspace, agent, repo.head())

    await apply_task(store, workspace, task_id, agents=[agent])
    await TaskQueue(store).decide(task_id, TaskState.APPROVED)
    await apply_task(store, workspace, task_id, agents=[agent])

    assert "assertion" in agent.configs[1]["past_attempts"]  # found by meaning this time
    assert await store.fetchval("SELECT count(*) FROM fix_attempt_vectors") == 1


async def test_git_revert_of_an_applied_fix_counts_against_its_strategy(setup) -> None:
    repo, workspace, store = setup
    agent = Recorder([FixOutcome(True, "rewrote double", ["calc.py"])])
    task_id = await approve_host_task(store, workspace, agent, repo.head())
    result = await apply_task(store, workspace, task_id, agents=[agent])
    repo.git("merge", "--ff-only", result.branch)
    await analyze_commit(store, workspace, repo.head(), [agent])  # the fix itself: not a revert
    assert (await attempts(store))[0]["reverted_at"] is None

    repo.git("revert", "--no-edit", "HEAD")
    await analyze_commit(store, workspace, repo.head(), [agent])

    [row] = await attempts(store)
    assert row["reverted_by"] == repo.head() and row["revert_reason"] == "a revert commit"
    record = (await strategy_records(store, "HOST001"))["rewrite-expression"]
    assert (record.attempts, record.successes, record.reverts) == (1, 1, 1)
    assert record.score < 0.5  # worse than a strategy never tried
    events = await store.fetchall("SELECT kind FROM events WHERE kind = 'task.fix_reverted'")
    assert len(events) == 1


async def test_restoring_the_changed_lines_by_hand_is_a_revert_too(setup) -> None:
    repo, workspace, store = setup
    agent = Recorder([FixOutcome(True, "rewrote double", ["calc.py"])])
    task_id = await approve_host_task(store, workspace, agent, repo.head())
    result = await apply_task(store, workspace, task_id, agents=[agent])
    repo.git("merge", "--ff-only", result.branch)
    repo.commit({"seed.py": "X = 2\n"}, "unrelated")
    await analyze_commit(store, workspace, repo.head(), [agent])
    assert (await attempts(store))[0]["reverted_at"] is None  # another file: nothing undone

    repo.commit({"calc.py": CALC.replace("double(n", "double(n ")}, "tidy calc")
    await analyze_commit(store, workspace, repo.head(), [agent])

    [row] = await attempts(store)
    assert row["reverted_by"] == repo.head()
    assert row["revert_reason"] == "the fix's lines in calc.py were restored"


async def test_a_fix_landed_as_is_or_edited_by_a_person_first(setup) -> None:
    repo, workspace, store = setup
    documented = FIXED.replace(":\n", ':\n    """Twice n."""\n', 1)
    agent = Recorder([FixOutcome(True, "rewrote double", ["calc.py"])], fixed=documented)
    task_id = await approve_host_task(store, workspace, agent, repo.head())
    await apply_task(store, workspace, task_id, agents=[agent])
    # The person lands their own version: the return line as fixed, the docstring reworded.
    edited = repo.commit({"calc.py": documented.replace("Twice n.", "Return n doubled.")})

    await analyze_commit(store, workspace, edited, [agent])

    [row] = await attempts(store)
    assert (row["landed_by"], row["landed_share"]) == (edited, 0.5)
    record = (await strategy_records(store, "HOST001"))["rewrite-expression"]
    assert (record.successes, record.edited, record.reverts) == (1, 1, 0)
    assert 1 / 3 < record.score < 2 / 3  # half a success: between a reverted and a clean one
    [past] = await closest_attempts(store, (await TaskQueue(store).get(task_id)))
    assert "worked after a person edited it (50% of its lines kept)" in describe(past)


async def test_the_fix_commit_itself_lands_it_whole(setup) -> None:
    repo, workspace, store = setup
    agent = Recorder([FixOutcome(True, "rewrote double", ["calc.py"])])
    task_id = await approve_host_task(store, workspace, agent, repo.head())
    result = await apply_task(store, workspace, task_id, agents=[agent])
    repo.git("merge", "--ff-only", result.branch)

    await analyze_commit(store, workspace, repo.head(), [agent])

    [row] = await attempts(store)
    assert (row["landed_by"], row["landed_share"]) == (result.commit, 1.0)


def task(rule: str, path: str, message: str, task_id: int = 1) -> Task:
    return Task(
        id=task_id, fingerprint=f"fp{task_id}", state=TaskState.APPROVED, priority=50,
        confidence=0.8, confidence_reason="", severity=Severity.MEDIUM, rule=rule, path=path,
        line=1, message=message, agents=["tests"], symbol=None, suggested_fix=None,
        first_seen_commit="a", last_seen_commit="a", seen_count=1, created_at=0.0,
        updated_at=0.0,
    )  # fmt: skip


async def test_retrieval_returns_the_closest_past_failure_first(store) -> None:
    past = [
        (task("DOC100", "pkg/io/read.py", "read has no docstring"), "failed", "no longer parses"),
        (task("TEST001", "src/app/models.py", "save is untested"), "failed", "took over 120 s"),
        (
            task("TEST001", "src/app/views.py", "render is untested"),
            "failed",
            "ImportError: cannot import name 'render' from 'app.views'",
        ),
        (task("TEST001", "lib/util.py", "slug is untested"), "applied", "test offered"),
        (task("B009", "src/app/views.py", "getattr with a constant"), "applied", "ruff fixed"),
    ]
    for number, (item, outcome, summary) in enumerate(past):
        await record_attempt(
            store, item, strategy="ghostwriter", agent="tests", outcome=outcome,
            duration_s=1.0, summary=summary, at=1000.0 + number,
        )  # fmt: skip

    closest = await closest_attempts(
        store, task("TEST001", "src/app/views.py", "paginate is untested", 9), limit=3
    )

    assert closest[0].path == "src/app/views.py" and closest[0].rule == "TEST001"
    assert (closest[0].failure, closest[0].failure_detail) == ("import-error", "app.views")
    assert {a.rule for a in closest} == {"TEST001"}


async def test_retrieval_by_meaning_finds_a_failure_worded_differently(store) -> None:
    past = [
        (task("S113", "src/http/client.py", "requests call without a timeout argument"),
         "failed", "took over 120 s"),
        (task("DOC100", "pkg/io/read.py", "read has no docstring"), "applied", "docstring drafted"),
        (task("B009", "src/app/views.py", "getattr with a constant"), "applied", "ruff fixed"),
    ]  # fmt: skip
    for number, (item, outcome, summary) in enumerate(past):
        await record_attempt(
            store, item, strategy="ruff-fix", agent="critic", outcome=outcome,
            duration_s=1.0, summary=summary, at=1000.0 + number,
        )  # fmt: skip
    asked = task("CR002", "lib/net.py", "network fetch that can hang forever", 9)
    assert await closest_attempts(store, asked, limit=1) == []  # no shared rule, folder or words

    [closest] = await closest_attempts(store, asked, limit=1, semantic=True)

    assert (closest.rule, closest.failure) == ("S113", "timeout")
    stored = await store.fetchval("SELECT count(*) FROM fix_attempt_vectors")
    assert stored == len(past)  # embedded once, kept for the next retrieval


async def test_without_the_extra_retrieval_by_meaning_falls_back_to_words(
    store, monkeypatch, caplog
) -> None:
    item = task("TEST001", "src/app/views.py", "render is untested")
    await record_attempt(
        store, item, strategy="ghostwriter", agent="tests", outcome="failed", duration_s=1.0,
        summary="ImportError: cannot import name 'render' from 'app.views'",
    )  # fmt: skip
    monkeypatch.setitem(sys.modules, "wordllama", None)  # the extra not installed
    embedder.cache_clear()
    try:
        [past] = await closest_attempts(store, item, semantic=True)
    finally:
        embedder.cache_clear()
    assert past.failure == "import-error"  # found by words
    assert "controlroom[semantic]" in caplog.text


async def test_the_strategy_with_the_best_record_goes_first(store) -> None:
    item = task("TEST001", "src/a.py", "f is untested")
    for strategy, outcomes in {
        "ghostwriter": ["failed", "failed", "applied"],
        "claude-writer": ["applied", "applied", "failed"],
    }.items():
        for outcome in outcomes:
            await record_attempt(
                store, item, strategy=strategy, agent="tests", outcome=outcome,
                duration_s=0.5, summary="AssertionError" if outcome == "failed" else "ok",
            )  # fmt: skip
    records = await strategy_records(store, "TEST001", ["examples"])

    assert order_by_record(["ghostwriter", "examples", "claude-writer"], records) == [
        "claude-writer",
        "examples",  # never tried: an even chance
        "ghostwriter",
    ]
    assert records["ghostwriter"].failures == {"assertion": 2}


@pytest.mark.parametrize(
    ("summary", "output", "pattern", "detail"),
    [
        (
            "x",
            "ModuleNotFoundError: No module named 'yaml.constructor'",
            "import-error",
            "yaml.constructor",
        ),
        ("x", "ImportError: cannot import name 'f' from 'pkg.mod'", "import-error", "pkg.mod"),
        ("pkg/a.py no longer parses after ruff's fix: invalid syntax", "", "syntax-error", ""),
        ("tests: making and checking the fix took over 120 s", "", "timeout", ""),
        (
            "the test failed",
            "E       assert 3 == 4\nE        +  where",
            "assertion",
            "assert 3 == 4",
        ),
        ("double already has a docstring at HEAD", "", "verification-failed", ""),
    ],
)
def test_failures_are_parsed_into_patterns(summary, output, pattern, detail) -> None:
    failure = parse_failure(summary, output)
    assert failure.pattern == pattern
    if detail:
        assert failure.detail == detail
