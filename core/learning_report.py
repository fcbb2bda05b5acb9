"""What the Learning view and ``controlroom learn rules`` show: each learned rule with its
evidence and provenance (deletable, with undo), the knowledge base's growth, the fix success
rate over time and the top failure patterns."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from controlroom.core.config import Config
from controlroom.core.learning import load_weights, rerank_rules
from controlroom.core.model import Severity
from controlroom.core.store import Store

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class LearnedRule:
    """The decisions on one rule in one directory (test code or not): one deletable row."""

    rule: str
    dir: str
    test: bool
    approved: int
    rejected: int
    imported: int
    sources: str  # "local", or where imported ones came from
    last_at: float
    effect: str  # what it does now to a medium task there ("-9 priority ...") or ""
    kinds: str = ""  # the decisions by symbol kind ("methods -4, functions +2"), when known

    @property
    def scope(self) -> str:
        return f"{self.dir} ({'test' if self.test else 'non-test'} code)"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"scope": self.scope}


async def learned_rules(
    store: Store, config: Config | None = None, *, now: float | None = None
) -> list[LearnedRule]:
    """Every (rule, directory, test) with decisions, most evidence first."""
    at = time.time() if now is None else now
    rows = await store.fetchall(
        "SELECT e.rule, e.dir, e.test, sum(e.vote > 0) AS approved, sum(e.vote < 0) AS rejected, "
        "sum(e.origin IS NOT NULL) AS imported, max(e.at) AS last_at, "
        "group_concat(DISTINCT i.source) AS sources FROM learning_events e "
        "LEFT JOIN learning_imports i ON i.id = e.origin GROUP BY e.rule, e.dir, e.test "
        "ORDER BY count(*) DESC, e.rule, e.dir"
    )
    weights = await load_weights(store, config, now=at)
    by_kind = await store.fetchall(
        "SELECT rule, dir, test, kind, sum(vote > 0) AS approved, sum(vote < 0) AS rejected "
        "FROM learning_events WHERE kind IS NOT NULL GROUP BY rule, dir, test, kind "
        "ORDER BY count(*) DESC, kind"
    )
    kinds: dict[tuple[str, str, int], list[str]] = {}
    for k in by_kind:
        votes = [f"+{k['approved']}"] * bool(k["approved"]) + [f"-{k['rejected']}"] * bool(
            k["rejected"]
        )
        kinds.setdefault((k["rule"], k["dir"], k["test"]), []).append(
            f"{k['kind']}s {' '.join(votes)}"
        )
    out = []
    for r in rows:
        path = f"{r['dir']}{'test_x.py' if r['test'] else 'x.py'}".removeprefix("./")
        assessment = weights.assess(r["rule"], path, Severity.MEDIUM)
        effect = ""
        if assessment is not None:
            *_, text = weights.apply(assessment, Severity.MEDIUM, 0.6, False)
            effect = text.removeprefix("learning: ")
        local = r["approved"] + r["rejected"] - r["imported"]
        sources = ", ".join(
            ([f"{local} local"] if local else [])
            + ([f"imported from {r['sources']}"] if r["imported"] else [])
        )
        out.append(
            LearnedRule(
                r["rule"], r["dir"], bool(r["test"]), r["approved"], r["rejected"],
                r["imported"], sources, r["last_at"], effect,
                ", ".join(kinds.get((r["rule"], r["dir"], r["test"]), [])),
            )
        )  # fmt: skip
    return out


async def forget_rule(
    store: Store, rule: str, folder: str, test: bool, config: Config | None = None
) -> int:
    """Delete what was learned from the decisions on ``rule`` in ``folder``; the events are kept
    aside for ``undo_forget``. Returns the batch number (0 when there was nothing)."""
    async with store.transaction() as conn:
        cursor = await conn.execute(
            "SELECT id, at, task_id, rule, agents, dir, test, vote, origin, kind FROM learning_events "
            "WHERE rule = ? AND dir = ? AND test = ?",
            (rule, folder, int(test)),
        )
        rows = [dict(r) for r in await cursor.fetchall()]
        if not rows:
            return 0
        cursor = await conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM learning_forgotten")
        found = await cursor.fetchone()
        assert found is not None  # an aggregate query returns one row
        batch = int(found[0])
        await conn.executemany(
            "INSERT INTO learning_forgotten (batch, event_json) VALUES (?, ?)",
            [(batch, json.dumps(row)) for row in rows],
        )
        await conn.executemany(
            "DELETE FROM learning_events WHERE id = ?", [(row["id"],) for row in rows]
        )
        await rerank_rules(conn, [rule], config, now=time.time())
    return batch


async def undo_forget(store: Store, config: Config | None = None) -> int:
    """Bring back the last deleted learned rule; returns how many events (0: nothing to undo)."""
    async with store.transaction() as conn:
        cursor = await conn.execute("SELECT max(batch) FROM learning_forgotten")
        found = await cursor.fetchone()
        assert found is not None  # an aggregate query returns one row
        batch = found[0]
        if batch is None:
            return 0
        cursor = await conn.execute(
            "SELECT event_json FROM learning_forgotten WHERE batch = ?", (batch,)
        )
        rows = [json.loads(r[0]) for r in await cursor.fetchall()]
        await conn.executemany(
            "INSERT OR IGNORE INTO learning_events (id, at, task_id, rule, agents, dir, test, "
            "vote, origin, kind) VALUES (:id, :at, :task_id, :rule, :agents, :dir, :test, :vote, "
            ":origin, :kind)",
            [{"kind": None, **row} for row in rows],  # deleted before the kind was kept: none
        )
        await conn.execute("DELETE FROM learning_forgotten WHERE batch = ?", (batch,))
        await rerank_rules(conn, {r["rule"] for r in rows}, config, now=time.time())
    return len(rows)


@dataclass(frozen=True, slots=True)
class FixStats:
    attempts: int
    applied: int
    reverted: int
    weekly: list[tuple[float, int, float]]  # (week start, cumulative attempts, success rate)
    failures: list[tuple[str, str, int]]  # (pattern, detail, count), most frequent first

    @property
    def success_rate(self) -> float | None:
        if not self.attempts:
            return None
        return (self.applied - self.reverted) / self.attempts


async def fix_stats(store: Store, *, weeks: int = 12, top: int = 8) -> FixStats:
    """The knowledge base: its size, growth and success rate per week, its top failures."""
    total = await store.fetchone(
        "SELECT count(*) AS n, coalesce(sum(outcome = 'applied'), 0) AS ok, "
        "coalesce(sum(outcome = 'applied' AND reverted_at IS NOT NULL), 0) AS back "
        "FROM fix_attempts"
    )
    assert total is not None  # an aggregate query returns one row
    rows = await store.fetchall(
        "SELECT CAST(at / (7 * 86400) AS INTEGER) AS week, count(*) AS n, "
        "sum(outcome = 'applied' AND reverted_at IS NULL) AS worked FROM fix_attempts "
        "GROUP BY week ORDER BY week"
    )
    weekly, running = [], 0
    for r in rows:
        running += r["n"]
        weekly.append((r["week"] * 7 * DAY, running, r["worked"] / r["n"]))
    failures = await store.fetchall(
        "SELECT failure, failure_detail, count(*) AS n FROM fix_attempts "
        "WHERE failure IS NOT NULL GROUP BY failure, failure_detail ORDER BY n DESC, failure "
        "LIMIT ?",
        (top,),
    )
    return FixStats(
        total["n"],
        total["ok"],
        total["back"],
        weekly[-weeks:],
        [(r["failure"], r["failure_detail"], r["n"]) for r in failures],
    )


async def hidden_by_learning(store: Store, config: Config) -> int:
    """Open tasks above the severity fold that learning demoted below it (the Queue hides them
    until ``N``; core/taskview.py)."""
    from controlroom.core.queue import TaskQueue
    from controlroom.core.taskfilter import OPEN_STATES
    from controlroom.core.taskview import TaskView, severity_floor

    floor = severity_floor(config)
    if floor is None:
        return 0
    fold = await TaskQueue(store, config).fold(
        states=OPEN_STATES, view=TaskView(min_severity=floor)
    )
    return fold.by_learning
