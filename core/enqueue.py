"""Turning converged findings into tasks: create, project, reopen and auto-resolve, all logged.

One fingerprint has at most one task, ever. A task is a projection of its evidence (the latest
finding of each detector on its fingerprint), so a partial re-run or a sweep never erases another
detector's evidence. Only an analysis of HEAD (or of a descendant of where the task was last seen)
moves it: history adds evidence and never resolves or reopens; a rejected task stays rejected.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from controlroom.core import grouping
from controlroom.core.config import Config
from controlroom.core.convergence import (
    Converged,
    Weight,
    converge,
    score,
)
from controlroom.core.learning import LearnedWeights, load_weights
from controlroom.core.lineage import Lineage
from controlroom.core.model import (
    ChangeSet,
    Finding,
    Severity,
    Task,
    TaskState,
    default_detector,
)
from controlroom.core.queue import TASK_COLUMNS, task_from_row
from controlroom.core.resolution import is_gone, resolve_gone
from controlroom.core.store import Store
from controlroom.core.task_refs import TaskRef, rows_by_fingerprint


@dataclass(slots=True)
class EnqueueResult:
    created: list[TaskRef] = field(default_factory=list)
    updated: list[TaskRef] = field(default_factory=list)
    resolved: list[TaskRef] = field(default_factory=list)
    task_ids: dict[str, int] = field(default_factory=dict)  # fingerprint -> task id


@dataclass(frozen=True, slots=True)
class Scoring:
    """What projecting evidence onto tasks needs: learned weights and the consensus threshold."""

    # A plain (agent, rule) -> Weight mapping or core/learning.py's LearnedWeights (duck-typed).
    weights: Any = field(default_factory=dict)
    consensus_min: int = 2
    group_min: int = 0  # nitpicks of one rule grouped from this many (core/grouping.py); 0: never


async def load_scoring(store: Store, config: Config) -> Scoring:
    weights: LearnedWeights | dict[tuple[str, str], Weight] = (
        await load_weights(store, config) if config.get("convergence.learning") else {}
    )
    return Scoring(
        weights,
        int(config.get("convergence.consensus_min_agents")),
        int(config.get("convergence.group_min") or 0),
    )


async def converge_with_learning(
    store: Store, config: Config, findings: list[Finding], *, sweep: bool = False
) -> list[Converged]:
    """``findings`` deduplicated and scored, with the weights learned from past decisions."""
    scoring = await load_scoring(store, config)
    sweeps = {f.agent for f in findings} if sweep else ()
    return converge(
        findings, scoring.weights, consensus_min_agents=scoring.consensus_min, sweep_agents=sweeps
    )


async def tasks_to_place(store: Store, fingerprints: list[str], paths: list[str]) -> set[str]:
    """The commits the lineage must place: where the tasks this analysis may touch were last seen
    or resolved. Read before the transaction (git is asked outside it)."""
    refs: set[str] = set()
    for row in await _store_rows(
        store, "last_seen_commit, resolved_commit", "fingerprint", fingerprints
    ):
        refs.update(r for r in (row["last_seen_commit"], row["resolved_commit"]) if r)
    for at in range(0, len(paths), 500):
        chunk = paths[at : at + 500]
        rows = await store.fetchall(
            "SELECT DISTINCT last_seen_commit FROM tasks WHERE state IN ('pending', 'snoozed') "
            f"AND path IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        refs.update(r["last_seen_commit"] for r in rows)
    return refs | await grouping.refs_to_place(store, fingerprints, paths)


async def _store_rows(store: Store, columns: str, key: str, values: list[str]) -> list[Any]:
    rows: list[Any] = []
    for at in range(0, len(values), 500):
        chunk = values[at : at + 500]
        rows.extend(
            await store.fetchall(
                f"SELECT {columns} FROM tasks WHERE {key} IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    return rows


async def insert_findings(
    conn: aiosqlite.Connection,
    sha: str,
    converged: list[Converged],
    task_ids: dict[str, int],
    *,
    source: str = "agent",
) -> None:
    """Every finding under commit ``sha``, linked to its task: the evidence of the queue."""
    await conn.executemany(
        "INSERT INTO findings (commit_sha, source, agent, detector, rule, severity, path, line, "
        "end_line, symbol, message, snippet, suggested_fix, confidence, fingerprint, task_id, "
        "extra_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                sha, source, f.agent, f.detector, f.rule, f.severity.value, f.path, f.line,
                f.end_line, f.symbol, f.message, f.snippet, f.suggested_fix, f.confidence,
                item.fingerprint, task_ids.get(item.fingerprint), json.dumps(f.extra, default=str),
            )
            for item in converged
            for f in item.findings
        ],
    )  # fmt: skip


async def enqueue(
    conn: aiosqlite.Connection,
    converged: list[Converged],
    change: ChangeSet,
    *,
    now: float,
    agents_ok: set[str],
    analyze_all: bool,
    lineage: Lineage,
    scoring: Scoring,
    source: str = "agent",
    stale: set[str] | frozenset[str] = frozenset(),
) -> EnqueueResult:
    """Apply one analysis's converged findings to the queue inside the caller's transaction.

    New fingerprints become tasks; the findings are stored as evidence; then every touched task
    (found now, or whose evidence from this commit was replaced: ``stale``) is recomputed from the
    latest finding of each detector on its fingerprint. Only an analysis that speaks for the present
    (``lineage``: HEAD, or a descendant of where the task was last seen) moves ``last_seen_commit``,
    reopens a resolved task or resolves a gone one; the operator's state (snoozed, rejected,
    approved) is never changed by an analysis. Batched: a few statements per commit.
    """
    result = EnqueueResult()
    sha = change.commit
    everything = converged  # all of it is evidence; nitpicks of one rule share a group task
    grouped = await grouping.plan(conn, converged, sha, scoring.group_min)
    converged = grouped.singles
    existing = await _tasks_by_fingerprint(conn, [item.fingerprint for item in converged])
    new_items = [item for item in converged if item.fingerprint not in existing]
    await conn.executemany(
        "INSERT INTO tasks (fingerprint, state, priority, confidence, confidence_reason, "
        "severity, rule, path, line, symbol, message, agents, suggested_fix, "
        "first_seen_commit, last_seen_commit, seen_count, created_at, updated_at) "
        "VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        [
            (
                item.fingerprint, item.priority, item.confidence, item.confidence_reason,
                item.severity.value, item.rule, item.path, item.line, item.symbol, item.message,
                ",".join(item.agents), item.suggested_fix, sha, sha, now, now,
            )
            for item in new_items
        ],
    )  # fmt: skip
    created = await _ids_by_fingerprint(conn, [item.fingerprint for item in new_items])
    reason = f"found in {sha[:10]}"
    await conn.executemany(
        "INSERT INTO decisions (at, task_id, from_state, to_state, actor, reason) "
        "VALUES (?, ?, 'new', 'pending', 'system', ?)",
        [(now, created[item.fingerprint], reason) for item in new_items],
    )
    for item in new_items:
        result.task_ids[item.fingerprint] = created[item.fingerprint]
    for fp, task in existing.items():
        result.task_ids[fp] = task.id
    result.task_ids.update(await grouping.create(conn, grouped, sha, now))
    await insert_findings(conn, sha, everything, result.task_ids, source=source)

    stale_tasks = await _tasks_by_fingerprint(conn, sorted(set(stale) - set(result.task_ids)))
    tasks = {**stale_tasks, **existing}
    found = {item.fingerprint: item for item in converged}
    advancing = {  # found again by an analysis that speaks for the present about them
        fp
        for fp, task in tasks.items()
        if fp in found and task.last_seen_commit != sha and lineage.current(task.last_seen_commit)
    }
    seen_at = {fp: sha if fp in advancing else task.last_seen_commit for fp, task in tasks.items()}
    projected = await project(
        conn, [*tasks, *created], scoring, seen_at | dict.fromkeys(created, sha)
    )

    updates, reopened = [], []
    for fp, item in found.items():
        if fp in created:
            made = projected.get(fp, item)
            result.created.append(_ref(created[fp], made, "pending"))
            updates.append((*_fields(made), "pending", sha, 0, now, "pending", created[fp]))
    for fp, task in tasks.items():
        proj = projected.get(fp)
        if proj is None:
            continue  # no evidence left (a re-run no longer finds it): the task stays as it was
        state, advance = task.state, False
        if fp in found:
            advance = fp in advancing
            if state is TaskState.RESOLVED and lineage.current(task.resolved_commit):
                state = TaskState.PENDING
                reopened.append((now, task.id, f"reappeared in {sha[:10]}"))
            result.updated.append(_ref(task.id, proj, state.value))
        last_seen = sha if advance else task.last_seen_commit
        updates.append(
            (*_fields(proj), state.value, last_seen, 1 if advance else 0, now, state.value, task.id)
        )
    await conn.executemany(
        "UPDATE tasks SET priority = ?, confidence = ?, confidence_reason = ?, severity = ?, "
        "rule = ?, line = ?, symbol = ?, message = ?, agents = ?, suggested_fix = ?, "
        "state = ?, last_seen_commit = ?, seen_count = seen_count + ?, updated_at = ?, "
        "resolved_commit = CASE WHEN ? = 'pending' THEN NULL ELSE resolved_commit END "
        "WHERE id = ?",
        updates,
    )
    await conn.executemany(
        "INSERT INTO decisions (at, task_id, from_state, to_state, actor, reason) "
        "VALUES (?, ?, 'resolved', 'pending', 'system', ?)",
        reopened,
    )
    if source == "agent":
        result.resolved = await resolve_gone(
            conn, change, set(found), now, agents_ok, analyze_all, lineage
        )
    groups = await grouping.settle(
        conn, grouped, change, now=now, lineage=lineage, weights=scoring.weights,
        agents_ok=agents_ok, analyze_all=analyze_all, source=source, stale=stale,
        is_gone=is_gone,
    )  # fmt: skip
    for task_id, fp, item in groups.created:
        result.created.append(_ref(task_id, item, "pending", fp))
        result.task_ids[fp] = task_id
    for task_id, fp, item, item_state in groups.updated:
        result.updated.append(_ref(task_id, item, item_state, fp))
        result.task_ids[fp] = task_id
    result.resolved.extend(
        TaskRef(row["id"], row["fingerprint"], "resolved", row["severity"], row["rule"],
                row["path"], row["line"])
        for row in groups.resolved
    )  # fmt: skip
    return result


def _fields(item: Converged) -> tuple[Any, ...]:
    return (
        item.priority, item.confidence, item.confidence_reason, item.severity.value, item.rule,
        item.line, item.symbol, item.message, ",".join(item.agents), item.suggested_fix,
    )  # fmt: skip


async def project(
    conn: aiosqlite.Connection,
    fingerprints: list[str],
    scoring: Scoring,
    seen_at: dict[str, str],
) -> dict[str, Converged]:
    """Each fingerprint's task as a projection of its evidence: the latest finding of every
    (detector, agent) on it (the one from the commit the task was last seen in, if any), scored."""
    latest: dict[tuple[str, str, str], Any] = {}
    sweeps: set[str] = set()
    rows = await rows_by_fingerprint(conn, _EVIDENCE, "findings", fingerprints)
    for row in rows:  # by id: later rows win, except over one from the last-seen commit
        fp = row["fingerprint"]
        detector = row["detector"] or default_detector(row["agent"], row["rule"])
        key = (fp, detector, row["agent"])
        held = latest.get(key)
        if held is not None and held["commit_sha"] == seen_at.get(fp) != row["commit_sha"]:
            continue
        latest[key] = row
        if row["source"] == "sweep":
            sweeps.add(row["agent"])
    groups: dict[str, list[Finding]] = defaultdict(list)
    for (fp, detector, _agent), row in latest.items():
        groups[fp].append(
            Finding(
                agent=row["agent"], rule=row["rule"], severity=Severity(row["severity"]),
                path=row["path"], line=row["line"], message=row["message"],
                symbol=row["symbol"], snippet=row["snippet"], suggested_fix=row["suggested_fix"],
                confidence=row["confidence"], end_line=row["end_line"], detector=detector,
            )
        )  # fmt: skip
    return {
        fp: score(fp, group, scoring.weights, consensus_min=scoring.consensus_min,
                  sweep_agents=sweeps)
        for fp, group in groups.items()
    }  # fmt: skip


_EVIDENCE = (
    "id, fingerprint, commit_sha, source, agent, detector, rule, severity, path, line, end_line, "
    "symbol, message, snippet, suggested_fix, confidence"
)


async def _tasks_by_fingerprint(
    conn: aiosqlite.Connection, fingerprints: list[str]
) -> dict[str, Task]:
    rows = await rows_by_fingerprint(conn, TASK_COLUMNS, "tasks", fingerprints)
    return {row["fingerprint"]: task_from_row(row) for row in rows}


async def _ids_by_fingerprint(
    conn: aiosqlite.Connection, fingerprints: list[str]
) -> dict[str, int]:
    rows = await rows_by_fingerprint(conn, "id, fingerprint", "tasks", fingerprints)
    return {row["fingerprint"]: row["id"] for row in rows}


def _ref(task_id: int, item: Converged, state: str, fingerprint: str | None = None) -> TaskRef:
    return TaskRef(
        task_id, fingerprint or item.fingerprint, state, item.severity.value, item.rule,
        item.path, item.line,
    )  # fmt: skip
