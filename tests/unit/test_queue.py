import pytest

from controlroom.core.errors import InvalidTransition, TaskNotFound
from controlroom.core.learning import Tally, load_weights
from controlroom.core.model import TaskState
from controlroom.core.pipeline import analyze_change
from controlroom.core.queue import TaskQueue
from tests.unit.spine_helpers import (
    BrokenAgent,
    ScriptedAgent,
    SlowAgent,
    change_of,
    context_factory,
    workspace_for,
)

EVAL = ScriptedAgent("critic", "eval(", "S307")
EVAL_TOO = ScriptedAgent("impact", "eval(", "S307", confidence=0.3)
PRINT = ScriptedAgent("critic", "print(", "T201")


async def analyze(store, tmp_path, change, agents, analyze_all=False, **overrides):
    workspace = workspace_for(tmp_path, **overrides)
    return await analyze_change(
        store,
        workspace,
        change,
        agents,
        analyze_all=analyze_all,
        context_factory=context_factory(workspace, analyze_all),
    )


async def test_findings_become_pending_tasks_with_a_logged_creation(store, tmp_path):
    report = await analyze(
        store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\nprint(x)\n"}), [EVAL, PRINT]
    )
    assert len(report.enqueued.created) == 2
    queue = TaskQueue(store)
    tasks = await queue.list()
    assert [t.rule for t in tasks] == ["S307", "T201"]  # high before low
    assert all(t.state is TaskState.PENDING for t in tasks)
    history = await queue.history(tasks[0].id)
    assert [(d.from_state, d.to_state, d.actor) for d in history] == [("new", "pending", "system")]


async def test_rerunning_a_commit_never_duplicates_tasks(store, tmp_path):
    change = change_of("c1", {"a.py": "x = eval(y)\n"})
    await analyze(store, tmp_path, change, [EVAL])
    again = await analyze(store, tmp_path, change, [EVAL])
    assert again.enqueued.created == [] and len(again.enqueued.updated) == 1
    [task] = await TaskQueue(store).list()
    assert task.seen_count == 1  # same commit: not a new sighting
    assert await store.fetchval("SELECT count(*) FROM findings") == 1


async def test_later_commit_with_the_same_problem_updates_last_seen(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    # The line moved down: same fingerprint.
    await analyze(store, tmp_path, change_of("c2", {"a.py": "import os\n\nx = eval(y)\n"}), [EVAL])
    [task] = await TaskQueue(store).list()
    assert task.seen_count == 2 and task.last_seen_commit == "c2" and task.line == 3


async def test_two_agents_converge_on_one_task(store, tmp_path):
    report = await analyze(
        store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL, EVAL_TOO]
    )
    [task] = await TaskQueue(store).list()
    assert task.agents == ["critic", "impact"] and task.confidence >= 0.9
    assert report.consensus_count == 1
    findings = await TaskQueue(store).findings(task.id)
    assert {f.agent for f in findings} == {"critic", "impact"}


async def test_gone_problem_is_resolved_automatically(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    report = await analyze(store, tmp_path, change_of("c2", {"a.py": "x = int(y)\n"}), [EVAL])
    assert len(report.enqueued.resolved) == 1
    [task] = await TaskQueue(store).list()
    assert task.state is TaskState.RESOLVED and task.resolved_commit == "c2"
    assert task.reason == "fixed in c2"
    log = await TaskQueue(store).history(task.id)
    assert log[-1].to_state == "resolved" and log[-1].actor == "system"


async def test_untouched_problem_is_not_resolved_by_a_diff_elsewhere(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    # c2 changes only line 2; the eval on line 1 was not re-examined.
    report = await analyze(
        store,
        tmp_path,
        change_of("c2", {"a.py": "x = eval(y)\nz = 1\n"}, changed={"a.py": [2]}),
        [EVAL],
    )
    assert report.enqueued.resolved == []
    [task] = await TaskQueue(store).list()
    assert task.state is TaskState.PENDING


async def test_deleted_file_resolves_its_tasks(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    report = await analyze(store, tmp_path, change_of("c2", {"a.py": None}), [EVAL])
    assert len(report.enqueued.resolved) == 1


async def test_a_failed_agent_does_not_resolve_its_tasks(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    broken_critic = BrokenAgent()
    broken_critic.name = "critic"
    report = await analyze(store, tmp_path, change_of("c2", {"a.py": "x = 1\n"}), [broken_critic])
    assert report.enqueued.resolved == []


async def test_rejected_fingerprint_does_not_come_back(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    queue = TaskQueue(store)
    [task] = await queue.list()
    await queue.decide(task.id, TaskState.REJECTED, reason="intended")
    report = await analyze(store, tmp_path, change_of("c2", {"a.py": "\nx = eval(y)\n"}), [EVAL])
    assert report.enqueued.created == []
    assert await queue.count(states=[TaskState.PENDING]) == 0
    assert (await queue.get(task.id)).state is TaskState.REJECTED


async def test_resolved_problem_that_reappears_is_reopened(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    await analyze(store, tmp_path, change_of("c2", {"a.py": "x = 1\n"}), [EVAL])
    await analyze(store, tmp_path, change_of("c3", {"a.py": "x = eval(y)\n"}), [EVAL])
    [task] = await TaskQueue(store).list()
    assert task.state is TaskState.PENDING and task.resolved_commit is None


async def test_decide_undo_and_the_log(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    queue = TaskQueue(store)
    [task] = await queue.list()
    await queue.decide(task.id, TaskState.APPROVED)
    assert (await queue.get(task.id)).state is TaskState.APPROVED
    assert (await load_weights(store)).tallies.get(
        ("S307", "code", "non-test"), Tally()
    ).approved_n == 1
    [undone] = await queue.undo()
    assert undone.to_state == "pending" and undone.undoes is not None
    assert (await queue.get(task.id)).state is TaskState.PENDING
    assert (await load_weights(store)).tallies.get(
        ("S307", "code", "non-test"), Tally()
    ).approved_n == 0
    assert await queue.undo() == []  # nothing left to undo
    states = [(d.from_state, d.to_state) for d in await queue.history(task.id)]
    assert states == [("new", "pending"), ("pending", "approved"), ("approved", "pending")]


async def test_reject_with_reason_and_bulk_decisions(store, tmp_path):
    await analyze(
        store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\nprint(x)\n"}), [EVAL, PRINT]
    )
    queue = TaskQueue(store)
    ids = [t.id for t in await queue.list()]
    decisions = await queue.decide_many(ids, TaskState.REJECTED, reason="noise")
    assert len(decisions) == 2
    assert await queue.count(states=[TaskState.REJECTED]) == 2
    assert {d.reason for d in await queue.history(ids[0]) if d.to_state == "rejected"} == {"noise"}


async def test_invalid_transitions_change_nothing(store, tmp_path):
    await analyze(
        store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\nprint(x)\n"}), [EVAL, PRINT]
    )
    queue = TaskQueue(store)
    first, second = await queue.list()
    await store.execute("UPDATE tasks SET state = 'resolved' WHERE id = ?", (second.id,))
    with pytest.raises(InvalidTransition):
        await queue.decide_many([first.id, second.id], TaskState.APPROVED)
    assert (await queue.get(first.id)).state is TaskState.PENDING  # all or nothing
    with pytest.raises(InvalidTransition):
        await queue.decide(first.id, TaskState.APPLIED)
    with pytest.raises(TaskNotFound):
        await queue.decide(999, TaskState.APPROVED)


async def test_snooze_wakes_up_when_its_time_is_over(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    now = [1000.0]
    queue = TaskQueue(store, workspace_for(tmp_path).config, clock=lambda: now[0])
    [task] = await queue.list()
    await queue.decide(task.id, TaskState.SNOOZED)
    assert (await queue.get(task.id)).state is TaskState.SNOOZED
    now[0] += 25 * 3600
    [woken] = await queue.list()
    assert woken.state is TaskState.PENDING
    assert (await queue.history(task.id))[-1].reason == "snooze ended"


async def test_search_filters_by_rule_path_and_message(store, tmp_path):
    await analyze(
        store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\nprint(x)\n"}), [EVAL, PRINT]
    )
    queue = TaskQueue(store)
    assert [t.rule for t in await queue.list(search="T201")] == ["T201"]
    assert await queue.count(search="eval(") == 1
    assert await queue.count(search="a.py") == 2


async def test_failing_and_slow_agents_are_recorded_and_never_stop_the_others(store, tmp_path):
    report = await analyze(
        store,
        tmp_path,
        change_of("c1", {"a.py": "x = eval(y)\n"}),
        [EVAL, BrokenAgent(), SlowAgent()],
        **{"agents.timeout": 0.2},
    )
    status = {run.agent: (run.status.value, run.error) for run in report.runs}
    assert status["critic"] == ("ok", None)
    assert status["broken"] == ("failed", "ValueError: kaput")
    assert status["slow"][0] == "timeout"
    assert len(report.enqueued.created) == 1
    rows = await store.fetchall("SELECT agent, status FROM agent_runs ORDER BY agent")
    assert [(r["agent"], r["status"]) for r in rows] == [
        ("broken", "failed"),
        ("critic", "ok"),
        ("slow", "timeout"),
    ]
    commit = await store.fetchone("SELECT * FROM commits WHERE sha = 'c1'")
    assert commit["agents_ok"] == 1 and commit["agents_failed"] == 2


async def test_learning_changes_the_next_commits_scores(store, tmp_path):
    await analyze(store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL])
    queue = TaskQueue(store)
    [first] = await queue.list()
    await queue.decide(first.id, TaskState.REJECTED)
    await analyze(store, tmp_path, change_of("c2", {"b.py": "z = eval(w)\n"}), [EVAL])
    [second] = await queue.list(states=[TaskState.PENDING])
    assert second.confidence < first.confidence
    assert "you rejected 1 of 1 S307" in second.confidence_reason


async def test_an_agent_that_cannot_load_is_a_failed_run_with_its_reason(store, tmp_path):
    from controlroom.core.plugins import BrokenAgent

    broken = BrokenAgent(
        "docs", "ModuleNotFoundError: No module named 'controlroom.agents.docs.agent'"
    )
    report = await analyze(
        store, tmp_path, change_of("c1", {"a.py": "x = eval(y)\n"}), [EVAL, broken]
    )
    runs = {run.agent: run for run in report.runs}
    assert runs["critic"].status.value == "ok"
    assert runs["docs"].status.value == "failed"
    assert (
        "could not be loaded" in runs["docs"].error
        and "controlroom.agents.docs.agent" in runs["docs"].error
    )


async def test_undo_reverts_a_bulk_decision_whole_and_a_later_single_one_first(store, tmp_path):
    files = {f"m{i}.py": "x = eval(y)\n" for i in range(4)}
    await analyze(store, tmp_path, change_of("c1", files), [EVAL])
    queue = TaskQueue(store)
    tasks = await queue.list()
    assert len(tasks) == 4
    bulk, single = [t.id for t in tasks[:3]], tasks[3].id
    await queue.decide_many(bulk, TaskState.REJECTED, reason="noise")
    await queue.decide(single, TaskState.APPROVED)

    [undone] = await queue.undo()  # the single decision came last: it alone is undone
    assert undone.task_id == single
    assert (await queue.get(single)).state is TaskState.PENDING
    assert [(await queue.get(i)).state for i in bulk] == [TaskState.REJECTED] * 3

    undone = await queue.undo()  # then the whole bulk, in one step
    assert sorted(d.task_id for d in undone) == sorted(bulk)
    assert [(await queue.get(i)).state for i in bulk] == [TaskState.PENDING] * 3
    assert (await load_weights(store)).tallies.get(
        ("S307", "code", "non-test"), Tally()
    ).rejected_n == 0
    assert await queue.undo() == []


class AboutChangeAgent(ScriptedAgent):
    """Like an API diff: a finding on the change itself, flagged ``about_change``."""

    async def analyze(self, change, ctx):
        output = await super().analyze(change, ctx)
        for finding in output.findings:
            finding.extra["about_change"] = True
        return output


async def test_a_finding_about_the_change_is_never_resolved_by_a_later_diff(store, tmp_path):
    removal = AboutChangeAgent("impact", "REMOVED", "IMP101")
    plain = ScriptedAgent("critic", "REMOVED", "S999")
    text = "x = 1\n# REMOVED old_api\n"
    await analyze(store, tmp_path, change_of("c1", {"a.py": text}), [removal, plain])
    # A later commit edits the file; neither finding's line is there any more.
    await analyze(store, tmp_path, change_of("c2", {"a.py": "x = 2\n"}), [removal, plain])
    states = {t.rule: t.state for t in await TaskQueue(store).list(states=list(TaskState))}
    assert states == {"IMP101": TaskState.PENDING, "S999": TaskState.RESOLVED}


async def test_a_grouped_finding_about_the_change_is_never_resolved_by_a_later_diff(
    store, tmp_path
):
    from controlroom.core.model import Severity

    removal = AboutChangeAgent("impact", "REMOVED", "IMP101", severity=Severity.LOW)
    plain = ScriptedAgent("critic", "REMOVED", "S999", severity=Severity.LOW)
    text = "x = 1\n" + "".join(f"# REMOVED old_api_{n}\n" for n in range(4))
    await analyze(store, tmp_path, change_of("c1", {"a.py": text}), [removal, plain])
    queue = TaskQueue(store)
    groups = {t.rule: t for t in await queue.list(limit=100)}
    assert set(groups) == {"IMP101", "S999"} and groups["IMP101"].fingerprint.startswith("group:")
    await analyze(store, tmp_path, change_of("c2", {"a.py": "x = 2\n"}), [removal, plain])
    states = {t.rule: t.state for t in await queue.list(states=list(TaskState))}
    assert states == {"IMP101": TaskState.PENDING, "S999": TaskState.RESOLVED}
