"""Pattern learning on a real store: scoped by directory and test code, decayed, capped, undone."""

from __future__ import annotations

import asyncio
import json

from controlroom.core.convergence import converge
from controlroom.core.learning import load_weights, symbol_kind
from controlroom.core.learning_report import learned_rules
from controlroom.core.model import Finding, Severity, TaskState
from controlroom.core.queue import TaskQueue
from controlroom.core.store import Store
from controlroom.core.toolkit.regions import SourceRegions
from controlroom.tui.cli import main
from tests.unit.spine_helpers import ScriptedAgent, change_of
from tests.unit.test_queue import analyze

DAY = 86400.0
LINE = 'password = "hunter2"\n'
S106 = ScriptedAgent("critic", "password =", "S106", severity=Severity.MEDIUM)
S106_CRITICAL = ScriptedAgent("critic", "password =", "S106", severity=Severity.CRITICAL)
S106_HIGH = ScriptedAgent("critic", "password =", "S106", severity=Severity.HIGH)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * DAY

    def __call__(self) -> float:
        return self.now


def change_in(sha: str, tests: list[str], src: list[str]):
    files = {f"tests/test_{name}.py": LINE for name in tests}
    files.update({f"src/{name}.py": LINE for name in src})
    return change_of(sha, files)


async def by_path(queue: TaskQueue) -> dict:
    return {task.path: task for task in await queue.list(limit=1000)}


def s106(path: str, severity: Severity = Severity.MEDIUM) -> Finding:
    return Finding(
        agent="critic", rule="S106", severity=severity, path=path, line=1,
        message="password", symbol="main", snippet=LINE, confidence=0.6,
    )  # fmt: skip


async def test_rejections_in_tests_demote_tests_at_once_and_never_src(store, tmp_path):
    await analyze(store, tmp_path, change_in("c1", list("abcd"), ["x", "y"]), [S106])
    queue = TaskQueue(store)
    before = await by_path(queue)
    rejected = [before[f"tests/test_{n}.py"].id for n in "abc"]
    for task_id in rejected:
        await queue.decide(task_id, TaskState.REJECTED, reason="test fixtures")

    after = await by_path(queue)
    open_test = after["tests/test_d.py"]
    assert open_test.priority < before["tests/test_d.py"].priority  # re-ranked in the decision
    assert "you rejected 3 of 3 S106 in tests/" in open_test.confidence_reason
    for path in ("src/x.py", "src/y.py"):
        assert after[path].priority == before[path].priority
        assert "learning" not in after[path].confidence_reason

    await analyze(store, tmp_path, change_in("c2", ["e"], ["z"]), [S106])
    fresh = await by_path(queue)
    assert fresh["tests/test_e.py"].priority < before["tests/test_a.py"].priority
    assert fresh["src/z.py"].priority == before["src/x.py"].priority
    assert "learning" not in fresh["src/z.py"].confidence_reason


async def test_old_decisions_weigh_less_and_fade_away(store, tmp_path):
    await analyze(store, tmp_path, change_in("c1", list("abcde"), []), [S106])
    clock = Clock()
    queue = TaskQueue(store, clock=clock)
    tasks = await by_path(queue)
    [neutral] = converge([s106("tests/test_new.py")])
    start = clock.now
    for name in "ab":
        await queue.decide(tasks[f"tests/test_{name}.py"].id, TaskState.REJECTED)

    [fresh] = converge([s106("tests/test_new.py")], await load_weights(store, now=start))
    [month] = converge([s106("tests/test_new.py")], await load_weights(store, now=start + 30 * DAY))
    assert fresh.priority < month.priority < neutral.priority

    clock.now = start + 90 * DAY  # three half-lives later the operator approves twice
    for name in "cd":
        await queue.decide(tasks[f"tests/test_{name}.py"].id, TaskState.APPROVED)
    [later] = converge([s106("tests/test_new.py")], await load_weights(store, now=clock.now))
    assert later.priority > neutral.priority  # the two new approvals outweigh the old rejections
    assert "you approved 2 of 4 S106 in tests/ in the last 90 days" in later.confidence_reason
    reranked = (await by_path(queue))["tests/test_e.py"]
    assert reranked.priority == later.priority  # the open task moved in the decision, by its clock

    gone = await load_weights(store, now=clock.now + 20 * 30 * DAY)
    [faded] = converge([s106("tests/test_new.py")], gone)
    assert faded.priority == neutral.priority
    assert abs(faded.confidence - neutral.confidence) < 0.01


async def test_a_critical_is_never_demoted_and_confidence_stays_capped(store, tmp_path):
    await analyze(store, tmp_path, change_in("c1", list("abcd"), []), [S106_CRITICAL])
    queue = TaskQueue(store)
    before = await by_path(queue)
    for name in "abc":
        await queue.decide(before[f"tests/test_{name}.py"].id, TaskState.REJECTED)
    survivor = (await by_path(queue))["tests/test_d.py"]
    assert survivor.severity is Severity.CRITICAL
    assert survivor.priority == before["tests/test_d.py"].priority
    assert survivor.confidence == before["tests/test_d.py"].confidence
    assert "never demoted" in survivor.confidence_reason

    await analyze(store, tmp_path, change_in("c2", [], list("abcdefgh")), [S106_HIGH])
    highs = [t for t in await queue.list(limit=100) if t.path.startswith("src/")]
    for task in highs[:7]:
        await queue.decide(task.id, TaskState.APPROVED)
    [liked] = converge([s106("src/new.py", Severity.HIGH)], await load_weights(store))
    assert liked.confidence <= 0.6 + 0.15 and liked.confidence < 1.0
    assert liked.priority < survivor.priority  # no high climbs to a critical's ordering


async def test_undo_of_a_decision_undoes_its_learning(store, tmp_path):
    await analyze(store, tmp_path, change_in("c1", list("abc"), []), [S106])
    queue = TaskQueue(store)
    before = await by_path(queue)
    ids = [before[f"tests/test_{n}.py"].id for n in "ab"]
    await queue.decide_many(ids, TaskState.REJECTED, reason="fixtures")
    assert (await by_path(queue))["tests/test_c.py"].priority < before["tests/test_c.py"].priority

    await queue.undo()
    restored = (await by_path(queue))["tests/test_c.py"]
    assert restored.priority == before["tests/test_c.py"].priority
    assert restored.confidence_reason == before["tests/test_c.py"].confidence_reason
    assert (await store.fetchone("SELECT count(*) AS n FROM learning_events"))["n"] == 0


def test_the_explanation_is_in_tasks_json(repo, tmp_path, capsys):
    db = tmp_path / "state.db"

    async def setup() -> None:
        store = await Store.open(db)
        try:
            await analyze(store, tmp_path, change_in("c1", list("abc"), ["x"]), [S106])
            queue = TaskQueue(store)
            tasks = await by_path(queue)
            for name in "ab":
                await queue.decide(tasks[f"tests/test_{name}.py"].id, TaskState.REJECTED)
        finally:
            await store.close()

    asyncio.run(setup())
    assert main(["tasks", "--json", "--repo", str(repo.path), "--db", str(db)]) == 0
    records = {r["path"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    note = records["tests/test_c.py"]["learning"]
    assert note.startswith("learning: -") and "you rejected 2 of 2 S106 in tests/" in note
    assert records["src/x.py"]["learning"] is None


S105 = ScriptedAgent("docs", "token =", "S105", severity=Severity.MEDIUM)
B006 = ScriptedAgent("impact", "token =", "B006", severity=Severity.MEDIUM)


async def test_a_rule_without_decisions_learns_from_its_family_at_half_weight(store, tmp_path):
    files = {f"src/{name}.py": LINE for name in "abcd"}
    files["src/keys.py"] = 'token = "abc"\n'
    await analyze(store, tmp_path, change_of("c1", files), [S106, S105, B006])
    queue = TaskQueue(store)
    before = {(t.rule, t.path): t for t in await queue.list(limit=1000)}
    for name in "abc":
        await queue.decide(before["S106", f"src/{name}.py"].id, TaskState.REJECTED)

    after = {(t.rule, t.path): t for t in await queue.list(limit=1000)}
    sibling = after["S105", "src/keys.py"]
    own = after["S106", "src/d.py"]
    assert sibling.priority < before["S105", "src/keys.py"].priority  # re-ranked in the decision
    assert "S1xx rules (S106; none yet of S105, each counting half)" in sibling.confidence_reason
    assert own.priority < sibling.priority  # a sibling's decisions count half
    other = after["B006", "src/keys.py"]  # another family: untouched
    assert other.priority == before["B006", "src/keys.py"].priority
    assert "learning" not in other.confidence_reason

    await queue.decide(before["S105", "src/keys.py"].id, TaskState.APPROVED)
    [judged] = converge(
        [Finding(agent="docs", rule="S105", severity=Severity.MEDIUM, path="src/new.py", line=1,
                 message="token", symbol="main", snippet="token = 1\n", confidence=0.6)],
        await load_weights(store),
    )  # fmt: skip
    assert (
        "you approved 1 of 1 S105 in non-test code" in judged.confidence_reason
    )  # its own decision wins


class SymbolAgent(ScriptedAgent):
    """A finding on every line with ``needle``, in the def or class the real parser finds there."""

    async def analyze(self, change, ctx):
        output = await super().analyze(change, ctx)
        for finding in output.findings:
            text = next(f.new_text for f in change.files if f.path == finding.path)
            finding.symbol = SourceRegions(text).symbol_at(finding.line)
        return output


SERVICE = """\
def load(path):
    cache = {}  # MUTABLE
    return cache


class Store:
    def get(self, key):
        seen = []  # MUTABLE
        return seen

    def put(self, key):
        seen = []  # MUTABLE
        return seen
"""


def test_the_symbol_kind_is_read_from_the_dotted_name() -> None:
    names = (None, "Cart", "_Cart.total", "total", "total.inner", "MAX_SIZE", "Cart.LIMIT", "T")
    assert {s: symbol_kind(s) for s in names} == {
        None: "module", "Cart": "class", "_Cart.total": "method", "total": "function",
        "total.inner": "nested", "MAX_SIZE": "constant", "Cart.LIMIT": "constant", "T": "class",
    }  # fmt: skip


async def test_decisions_on_methods_judge_methods_and_leave_functions_to_the_rule(store, tmp_path):
    files = {f"src/{name}.py": SERVICE for name in "abc"}
    await analyze(
        store,
        tmp_path,
        change_of("c1", files),
        [SymbolAgent("critic", "MUTABLE", "X100", severity=Severity.MEDIUM)],
    )
    queue = TaskQueue(store)
    tasks = {(t.path, t.symbol): t for t in await queue.list(limit=1000)}
    assert {symbol for _, symbol in tasks} == {"load", "Store.get", "Store.put"}
    for name in "ab":  # methods: noise to this operator; functions: worth it
        await queue.decide(tasks[f"src/{name}.py", "Store.get"].id, TaskState.REJECTED)
        await queue.decide(tasks[f"src/{name}.py", "Store.put"].id, TaskState.REJECTED)
        await queue.decide(tasks[f"src/{name}.py", "load"].id, TaskState.APPROVED)

    after = {(t.path, t.symbol): t for t in await queue.list(limit=1000)}

    method, function = after["src/c.py", "Store.get"], after["src/c.py", "load"]
    assert "you rejected 4 of 4 X100 on methods in src/" in method.confidence_reason
    assert "you approved 2 of 2 X100 on functions in src/" in function.confidence_reason
    assert method.priority < tasks["src/c.py", "Store.get"].priority
    assert function.priority > tasks["src/c.py", "load"].priority
    [learned] = await learned_rules(store)
    assert learned.kinds == "methods -4, functions +2"
