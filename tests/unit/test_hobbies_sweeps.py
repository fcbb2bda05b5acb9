"""Hobby sweeps on real repositories, run through the executor, plus proficiency and scheduling."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controlroom.core.store import Store
from controlroom.core.subagents import StoreExecutor
from controlroom.core.subagents.handlers import load_hobby
from controlroom.core.subagents.history import search_history
from controlroom.core.subagents.hobbies import (
    HobbyService,
    choose_next,
    hobby_statuses,
    proficiency,
)
from controlroom.core.subagents.settings import HobbySettings, SubagentSettings
from controlroom.core.workspace import resolve_workspace

COMPLEX = (
    "def tangled(x):\n"
    + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(14))
    + "    return -1\n"
)

SOURCE = {
    "pkg/__init__.py": "",
    "pkg/calc.py": '"""Calc."""\n\n\ndef add(a, b):\n    """Add."""\n    return a + b\n\n\n'
    "def mul(a, b):\n    return a * b\n\n\nclass Box:\n    def open(self):\n        return 1\n",
    "pkg/tangle.py": COMPLEX,
    "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}


@pytest.fixture
async def world(tmp_path: Path, repo):
    sha = repo.commit(SOURCE, "first")
    for i in range(3):
        repo.commit({"pkg/tangle.py": COMPLEX + f"# {i}\n"}, f"fix crash in tangle {i}")
    sha = repo.head()
    workspace = resolve_workspace(repo.path, tmp_path / "state.db")
    store = await Store.open(workspace.db_path)
    executor = StoreExecutor(store, workspace=workspace, settings=SubagentSettings())
    try:
        yield store, workspace, executor, sha
    finally:
        await executor.close()
        await store.close()


async def _sweep(world, name: str):
    store, _workspace, executor, sha = world
    service = HobbyService(store, executor=executor, head=lambda: sha, is_idle=lambda: True)
    return await service.run_hobby(name, sha)


async def test_doc_sweep_finds_undocumented_public_definitions(world):
    run = await _sweep(world, "doc_sweep")
    assert run.status.value == "ok" and run.where == "local"
    symbols = {f.symbol for f in run.output.findings}
    assert {"mul", "Box", "Box.open", "tangled"} <= symbols and "add" not in symbols
    assert all(f.snippet and f.agent == "doc_sweep" for f in run.output.findings)
    assert run.output.metrics["doc_coverage"] == 20.0  # 1 of 5 public definitions


async def test_coverage_sweep_uses_test_references(world):
    run = await _sweep(world, "coverage_sweep")
    untested = {f.symbol for f in run.output.findings}
    assert "add" not in untested and {"mul", "Box.open", "tangled"} <= untested


async def test_complexity_sweep_ranks_the_most_complex_function(world):
    run = await _sweep(world, "complexity_sweep")
    top = run.output.findings[0]
    assert (top.rule, top.symbol, top.extra["complexity"]) == ("CC100", "tangled", 15)
    assert run.output.metrics["max_complexity"] == 15


async def test_history_index_writes_a_searchable_index_and_flags_hotspots(world, tmp_path):
    store, workspace, _executor, sha = world
    hobby = load_hobby("history_index")
    from controlroom.core.subagents.handlers import HobbyContext, sweep_changeset

    ctx = HobbyContext(
        repo_path=workspace.repo_path,
        config={"hotspot_min_commits": 3, "history_days": 30},
        store=store,
    )
    output = await hobby.analyze(sweep_changeset(workspace, sha), ctx)
    assert output.metrics["commits_indexed"] == 4
    hits = await search_history(store, "crash")
    assert len(hits) == 3 and all("pkg/tangle.py" in h.paths for h in hits)
    assert [f.path for f in output.findings] == ["pkg/tangle.py"]


async def test_runs_are_recorded_with_a_timeline(world):
    store, _w, _e, _sha = world
    await _sweep(world, "doc_sweep")
    statuses = {s.hobby: s for s in await hobby_statuses(store, HobbySettings())}
    doc = statuses["doc_sweep"]
    assert doc.runs == 1 and doc.last_status == "ok"
    assert doc.per_hour[-1] == 1 and doc.per_day[-1] == 1
    assert statuses["complexity_sweep"].runs == 0


async def _decide(store: Store, agent: str, states: list[str], at: float) -> None:
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO commits (sha, analyzed_at) VALUES ('HEAD sweep', ?)", (at,)
        )
        for i, state in enumerate(states):
            cursor = await conn.execute(
                "INSERT INTO tasks (fingerprint, state, priority, confidence, severity, rule,"
                " path, line, message, first_seen_commit, last_seen_commit, created_at,"
                " updated_at) VALUES (?, ?, 1, 0.5, 'low', 'R', 'p.py', 1, 'm', 's', 's', ?, ?)",
                (f"{agent}-{i}-{at}", state, at, at),
            )
            await conn.execute(
                "INSERT INTO findings (commit_sha, agent, rule, severity, path, line, message,"
                " confidence, fingerprint, task_id) VALUES ('HEAD sweep', ?, 'R', 'low',"
                " 'p.py', 1, 'm', 0.5, 'f', ?)",
                (agent, cursor.lastrowid),
            )


async def test_proficiency_is_smoothed_and_decays_with_age(store: Store):
    settings = HobbySettings(half_life_days=10.0)
    now = 1_000_000_000.0
    empty = await proficiency(store, "doc_sweep", settings, now=now)
    assert empty.percent == 50  # the prior, with no evidence
    await _decide(store, "doc_sweep", ["approved"] * 3 + ["rejected"], now)
    fresh = await proficiency(store, "doc_sweep", settings, now=now)
    assert fresh.score == pytest.approx((3 + 1) / (4 + 2))
    later = await proficiency(store, "doc_sweep", settings, now=now + 10 * 86400)
    assert later.approved == pytest.approx(1.5) and later.score < fresh.score


async def test_the_weakest_and_stalest_hobby_goes_first(store: Store):
    settings = HobbySettings(min_gap=3600.0)
    now = 2_000_000_000.0
    await _decide(store, "doc_sweep", ["rejected"] * 4, now)  # weak
    await _decide(store, "complexity_sweep", ["approved"] * 4, now)  # strong
    for hobby in settings.sweeps:
        await store.execute(
            "INSERT INTO hobby_runs (hobby, commit_sha, started_at, finished_at, duration_s,"
            " status) VALUES (?, 'x', ?, ?, 1, 'ok')",
            (hobby, now - 7200, now - 7200),
        )
    statuses = await hobby_statuses(store, settings, now=now)
    assert choose_next(statuses, settings, now=now) == "doc_sweep"
    assert choose_next(statuses, settings, now=now - 5000) is None  # all ran within min_gap


async def test_the_service_waits_for_idle_time(world):
    store, _workspace, executor, sha = world
    idle = asyncio.Event()
    service = HobbyService(
        store, executor=executor, head=lambda: sha, is_idle=idle.is_set,
        settings=HobbySettings(sweeps=("doc_sweep",)),
    )  # fmt: skip
    assert await service.tick() is None
    idle.set()
    run = await service.tick()
    assert run is not None and run.agent == "doc_sweep"
    assert await service.tick() is None  # ran within min_gap


@pytest.mark.parametrize("name", ["doc_sweep", "coverage_sweep", "complexity_sweep"])
async def test_sweeps_never_read_a_file_over_git_max_file_bytes(world, tmp_path, name):
    store, workspace, _executor, sha = world
    assert len(COMPLEX.encode()) > 300 > len(SOURCE["pkg/calc.py"].encode())
    config = tmp_path / "small.toml"
    config.write_text("[git]\nmax_file_bytes = 300\n")
    small = resolve_workspace(workspace.repo_path, workspace.db_path, config)
    executor = StoreExecutor(store, workspace=small, settings=SubagentSettings())
    try:
        service = HobbyService(store, executor=executor, head=lambda: sha, is_idle=lambda: True)
        run = await service.run_hobby(name, sha)
    finally:
        await executor.close()
    assert run.status.value == "ok"
    assert all(f.path != "pkg/tangle.py" for f in run.output.findings)
