"""The queue as a projection of evidence, on real repositories with the real agents and sweeps:
history never resolves or reopens, sweeps never take a task over, consensus is by detector."""

from __future__ import annotations

from controlroom.core.analysis import AnalysisService, fixing_agents, load_enabled_agents
from controlroom.core.apply import apply_task
from controlroom.core.config import load_config
from controlroom.core.model import TaskState
from controlroom.core.pipeline import run_agent_locally
from controlroom.core.queue import TaskQueue
from controlroom.core.runtime import Runtime
from controlroom.core.subagents.handlers import HobbyContext, load_hobby, sweep_changeset
from controlroom.core.workspace import Workspace
from tests.unit.spine_helpers import ScriptedAgent

V1 = "def alpha(x):\n    return x\n"
V2 = V1 + "\n\ndef beta(x):\n    return x + 1\n"
V3 = V2 + "\n\ndef gamma(x):\n    return x * 2\n\n\ndef delta(x):\n    return x * 3\n"


def workspace(repo, tmp_path, **overrides) -> Workspace:
    config = load_config(repo.path).with_overrides(
        {"tests.generate": False, "runtime.poll_interval": 0.05, "agents.enabled": ["docs"]}
        | overrides
    )
    return Workspace(repo.path, config, tmp_path / "state.db")


def agents(ws: Workspace, *names: str):
    loaded, missing = load_enabled_agents(ws.config, list(names))
    assert not missing
    return loaded


async def sweep(store, ws: Workspace, service: AnalysisService, name: str, sha: str):
    hobby = load_hobby(name)
    ctx = HobbyContext(repo_path=ws.repo_path, config={}, analyze_all=True, store=store)
    run = await run_agent_locally(hobby, sweep_changeset(ws, sha), ctx, timeout=60)
    return await service.record_sweep(sha, run)


def by_symbol(tasks) -> dict:
    return {t.symbol: t for t in tasks}


async def test_history_adds_evidence_and_never_resolves_reopens_or_unsnoozes(repo, store, tmp_path):
    root = repo.commit({"m.py": V1}, "alpha")
    repo.commit({"m.py": V2}, "beta")
    head = repo.commit({"m.py": V3}, "gamma and delta")
    ws = workspace(repo, tmp_path)
    service = AnalysisService(store, ws, agents=agents(ws, "docs"))
    await service.analyze(head)
    queue = TaskQueue(store, ws.config)
    tasks = by_symbol(await queue.list())
    snoozed, rejected = tasks["gamma"], tasks["delta"]
    await queue.decide(snoozed.id, TaskState.SNOOZED)
    await queue.decide(rejected.id, TaskState.REJECTED)

    older = await service.analyze(repo.git("rev-parse", "HEAD~1"))  # --commit HEAD~1
    assert older.enqueued.resolved == []  # old code: gamma and delta "fixed in HEAD~1"
    for sha in repo.git("rev-list", "--reverse", f"{root}..HEAD").split():  # --since the root
        report = await service.analyze(sha)
        assert report.enqueued.resolved == []
    await service.analyze(head, rerun=True)  # and an explicit re-run of HEAD

    after = by_symbol(await queue.list())
    assert after["gamma"].state is TaskState.SNOOZED
    assert after["delta"].state is TaskState.REJECTED
    assert after["gamma"].last_seen_commit == head
    assert not [t for t in after.values() if t.state is TaskState.RESOLVED]
    automatic = await store.fetchall(
        "SELECT * FROM decisions WHERE actor = 'system' AND to_state != 'pending'"
    )
    assert automatic == []  # nothing resolved, nothing reopened


async def test_a_fix_at_head_resolves_and_an_older_commit_does_not_reopen(repo, store, tmp_path):
    repo.commit({"m.py": V2}, "alpha and beta")
    fixed = repo.commit({"m.py": V2.replace("def beta(x):\n", 'def beta(x):\n    """B."""\n')})
    ws = workspace(repo, tmp_path)
    service = AnalysisService(store, ws, agents=agents(ws, "docs"))
    await service.analyze(repo.git("rev-parse", "HEAD~1"))
    [task] = [t for t in await TaskQueue(store).list() if t.symbol == "beta"]
    report = await service.analyze(fixed)
    assert [r.id for r in report.enqueued.resolved] == [task.id]
    await service.analyze(repo.git("rev-parse", "HEAD~1"), rerun=True)  # history again
    assert (await TaskQueue(store).get(task.id)).state is TaskState.RESOLVED


async def test_sweep_first_then_agents_one_task_kept_by_the_fixing_agent(repo, store, tmp_path):
    head = repo.commit({"m.py": V1}, "alpha")
    ws = workspace(repo, tmp_path)
    service = AnalysisService(store, ws, agents=agents(ws, "docs"))
    await sweep(store, ws, service, "doc_sweep", head)  # idle time came before the agents
    assert await store.fetchval("SELECT count(*) FROM commits") == 0  # no commits row
    runtime = Runtime(ws, store, agents=service.agents)
    try:
        [report] = await runtime.check_now()  # so the runtime still analyzes HEAD
    finally:
        runtime.repo.close()
    assert report.sha == head and report.runs[0].where == "local"
    [task] = [t for t in await TaskQueue(store).list() if t.rule == "DOC100"]
    assert task.agents == ["docs", "doc_sweep"]  # the fixing agent leads


async def test_agents_first_then_sweep_never_takes_the_task_over(repo, store, tmp_path):
    head = repo.commit({"m.py": V1}, "alpha")
    ws = workspace(repo, tmp_path)
    service = AnalysisService(store, ws, agents=agents(ws, "docs"))
    await service.analyze(head)
    [before] = [t for t in await TaskQueue(store).list() if t.rule == "DOC100"]
    await sweep(store, ws, service, "doc_sweep", head)
    [after] = [t for t in await TaskQueue(store).list() if t.rule == "DOC100"]
    assert after.id == before.id
    assert after.agents == ["docs", "doc_sweep"]  # old code: ["doc_sweep"], apply refused it
    assert after.confidence >= before.confidence  # old code: dropped to the sweep's 0.6
    assert after.suggested_fix  # the docs agent's drafted docstring is still the fix
    await TaskQueue(store, ws.config).decide(after.id, TaskState.APPROVED)
    result = await apply_task(store, ws, after.id, agents=fixing_agents(ws.config))
    assert result.state == "applied", result.summary  # old code: "no automatic fix (doc_sweep)"


async def test_coverage_sweep_and_tests_agent_raise_one_untested_task(repo, store, tmp_path):
    head = repo.commit({"pkg/calc.py": "def double(x):\n    return x * 2\n"}, "calc")
    ws = workspace(repo, tmp_path)
    service = AnalysisService(store, ws, agents=agents(ws, "tests"))
    await service.analyze(head)
    await sweep(store, ws, service, "coverage_sweep", head)
    tasks = [t for t in await TaskQueue(store).list() if t.symbol == "double"]
    assert [t.rule for t in tasks] == ["TEST001"]  # old code: COV100 beside TEST001
    assert tasks[0].agents == ["tests", "coverage_sweep"]


async def test_partial_rerun_keeps_the_other_detectors_evidence(repo, store, tmp_path):
    head = repo.commit({"a.py": "x = eval(y)\n"}, "one")
    ws = workspace(repo, tmp_path)
    critic = ScriptedAgent("critic", "eval(", "S307")
    impact = ScriptedAgent("impact", "eval(", "S307", confidence=0.3)
    await AnalysisService(store, ws, agents=[critic, impact]).analyze(head)
    [before] = await TaskQueue(store).list()
    assert before.agents == ["critic", "impact"] and before.confidence >= 0.9
    await AnalysisService(store, ws, agents=[critic]).analyze(head, rerun=True)
    [after] = await TaskQueue(store).list()
    assert after.agents == ["critic", "impact"]  # old code: ["critic"]
    assert (after.confidence, after.priority) == (before.confidence, before.priority)
    evidence = await TaskQueue(store).findings(after.id)
    assert sorted(f.agent for f in evidence) == ["critic", "impact"]


N_PLUS_ONE = """\
def load(db, ids):
    rows = []
    for i in ids:
        rows.append(db.execute("SELECT * FROM t WHERE id = ?", (i,)))
    return rows
"""


async def test_critic_and_impact_on_one_n_plus_one_loop_are_one_vote(repo, store, tmp_path):
    head = repo.commit({"repo_db.py": N_PLUS_ONE}, "loop")
    ws = workspace(repo, tmp_path)
    service = AnalysisService(store, ws, agents=agents(ws, "critic", "impact"))
    report = await service.analyze(head)
    cr001 = [f for f in report.findings if f["rule"] == "CR001"]
    assert sorted(f["agent"] for f in cr001) == ["critic", "impact"]
    [task] = [t for t in await TaskQueue(store).list() if t.rule == "CR001"]
    assert task.agents == ["critic", "impact"]
    assert task.confidence == max(f["confidence"] for f in cr001)  # old code: boosted to 0.9
    assert "consensus" not in task.confidence_reason


async def test_migration_moves_sweep_rows_out_of_commits_and_keeps_the_evidence(tmp_path):
    from controlroom.core.store import Store

    store = await Store.open(tmp_path / "old.db", migrate=False)
    try:
        await store.migrate(up_to=6)
        async with store.transaction() as conn:
            await conn.execute(
                "INSERT INTO commits (sha, subject, analyzed_at) VALUES ('s1', "
                "'(hobby sweep doc_sweep)', 1), ('c1', 'real', 1)"
            )
            await conn.execute(
                "INSERT INTO agent_runs (commit_sha, agent, status, started_at, duration_s) "
                "VALUES ('c1', 'docs', 'ok', 1, 0.1)"
            )
            await conn.execute(
                "INSERT INTO findings (commit_sha, agent, rule, severity, path, line, message, "
                "confidence, fingerprint) VALUES ('s1', 'doc_sweep', 'DOC100', 'low', 'm.py', 1, "
                "'m', 0.6, 'fp'), ('c1', 'docs', 'DOC100', 'low', 'm.py', 1, 'm', 0.9, 'fp')"
            )
        await store.migrate()
        assert [r["sha"] for r in await store.fetchall("SELECT sha FROM commits")] == ["c1"]
        rows = await store.fetchall("SELECT agent, source FROM findings ORDER BY id")
        assert [(r["agent"], r["source"]) for r in rows] == [
            ("doc_sweep", "sweep"),
            ("docs", "agent"),
        ]
        claims = await store.fetchall("SELECT commit_sha, agent, state FROM analysis_claims")
        assert [tuple(r) for r in claims] == [("c1", "docs", "done")]
    finally:
        await store.close()
