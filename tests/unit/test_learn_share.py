"""Learned rules shared between repositories (hashed directories, provenance, merged once) and
deleted from the Learning view with undo."""

from __future__ import annotations

import asyncio
import json

from controlroom.core.learn_share import export_learning, import_learning, read_export
from controlroom.core.learning_report import forget_rule, learned_rules, undo_forget
from controlroom.core.model import TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.tui.cli import main
from tests.unit.test_learning import S106, by_path, change_in
from tests.unit.test_queue import analyze


async def rejected_in_tests(store: Store, tmp_path, names: str = "abc") -> TaskQueue:
    """S106 in tests/test_{names}.py and src/x.py; the tests ones but the last rejected."""
    await analyze(store, tmp_path, change_in("c1", list(names), ["x"]), [S106])
    queue = TaskQueue(store)
    tasks = await by_path(queue)
    for name in names[:-1]:
        await queue.decide(tasks[f"tests/test_{name}.py"].id, TaskState.REJECTED, reason="fixture")
    return queue


async def test_export_import_round_trip_with_hashed_paths(tmp_path) -> None:
    source = await Store.open(tmp_path / "a.db")
    await rejected_in_tests(source, tmp_path)
    await source.execute(  # a directory only the exporting repository has
        "INSERT INTO learning_events (at, task_id, rule, agents, dir, test, vote) "
        "VALUES (1e9, 99, 'S106', 'critic', 'secret/internal/', 0, -1)"
    )
    document = await export_learning(source, source="payments-api")
    await source.close()
    text = json.dumps(document)
    assert "tests/" not in text and "secret" not in text and "src/" not in text
    assert {e["dir"][:2] for e in document["events"]} == {"h:"}

    target = await Store.open(tmp_path / "b.db")
    await analyze(target, tmp_path, change_in("c1", list("pq"), ["y"]), [S106])
    queue = TaskQueue(target)
    before = await by_path(queue)
    result = await import_learning(target, document, file="a.json")

    assert (result["events"], result["dirs_matched"], result["hashed"]) == (3, 2, True)
    after = await by_path(queue)
    assert after["tests/test_p.py"].priority < before["tests/test_p.py"].priority  # at once
    assert "2 of these decisions imported" in after["tests/test_p.py"].confidence_reason
    assert after["src/y.py"].priority == before["src/y.py"].priority
    rules = {(r.rule, r.dir): r for r in await learned_rules(target)}
    assert rules[("S106", "tests/")].sources == "imported from payments-api"
    assert rules[("S106", "tests/")].rejected == 2
    assert rules[("S106", "tests/")].kinds == "functions -2"  # the symbol kind travels too
    unknown = [d for (_, d) in rules if d.startswith("h:")]
    assert len(unknown) == 1  # secret/internal/ stays a hash: this repository has no such folder
    assert (await import_learning(target, document, file="a.json"))["already"] is True
    assert await target.fetchval("SELECT count(*) FROM learning_events") == 3
    await target.close()


async def test_with_paths_keeps_names_and_strategy_records_merge(tmp_path) -> None:
    source = await Store.open(tmp_path / "a.db")
    await rejected_in_tests(source, tmp_path)
    await source.execute(
        "INSERT INTO fix_attempts (at, task_id, kind, rule, path, strategy, agent, outcome, "
        "duration_s, failure) VALUES (1, 1, 'critic:B', 'B009', 'src/a.py', 'ruff-fix', "
        "'critic', 'failed', 1.0, 'syntax-error')"
    )
    document = await export_learning(source, with_paths=True)
    await source.close()
    assert {e["dir"] for e in document["events"]} == {"tests/"}
    assert document["strategies"] == [
        {"kind": "critic:B", "rule": "B009", "strategy": "ruff-fix", "attempts": 1,
         "successes": 0, "reverts": 0, "edited": 0, "failures": {"syntax-error": 1}},
    ]  # fmt: skip
    target = await Store.open(tmp_path / "b.db")
    await import_learning(target, document, file="a.json")
    from controlroom.core.fixmemory import strategy_records

    record = (await strategy_records(target, "B009"))["ruff-fix"]
    assert (record.attempts, record.failures) == (1, {"syntax-error": 1})
    await target.close()


def test_the_cli_exports_and_imports_and_names_a_bad_file(repo, tmp_path, capsys) -> None:
    exported, bad = tmp_path / "learned.json", tmp_path / "bad.json"

    async def setup() -> None:
        store = await Store.open(tmp_path / "a.db")
        await rejected_in_tests(store, tmp_path)
        await store.close()

    asyncio.run(setup())
    base = ["--repo", str(repo.path), "--db"]
    assert main(["learn", "export", str(exported), *base, str(tmp_path / "a.db")]) == 0
    assert "wrote 2 decisions" in capsys.readouterr().out
    assert read_export(exported)["paths"] == "hashed"
    assert main(["learn", "import", str(exported), *base, str(tmp_path / "b.db")]) == 0
    assert "2 decisions" in capsys.readouterr().out
    assert main(["learn", "rules", "--json", *base, str(tmp_path / "b.db")]) == 0
    [rule] = map(json.loads, capsys.readouterr().out.splitlines())
    assert rule["rejected"] == 2 and rule["imported"] == 2
    bad.write_text('{"format": "something-else"}')
    assert main(["learn", "import", str(bad), *base, str(tmp_path / "b.db")]) == 2
    assert f"{bad}: not a controlroom learning export" in capsys.readouterr().err


async def test_a_deleted_learned_rule_stops_acting_and_undo_brings_it_back(store, tmp_path):
    queue = await rejected_in_tests(store, tmp_path)
    demoted = (await by_path(queue))["tests/test_c.py"]
    [rule] = await learned_rules(store)
    assert (rule.rule, rule.dir, rule.test, rule.rejected) == ("S106", "tests/", True, 2)
    assert rule.effect.startswith("-")

    assert await forget_rule(store, "S106", "tests/", True) == 1

    assert await learned_rules(store) == []
    cleared = (await by_path(queue))["tests/test_c.py"]
    assert cleared.priority > demoted.priority and "learning" not in cleared.confidence_reason
    assert await undo_forget(store) == 2
    assert (await by_path(queue))["tests/test_c.py"].priority == demoted.priority
    assert await undo_forget(store) == 0
