"""Turning converged findings into tasks: create, update, reopen and auto-resolve, all logged.

One fingerprint has at most one task, ever: re-running a commit, or a later commit that still has
the problem, updates ``last_seen_commit`` and ``seen_count``; a rejected fingerprint stays rejected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import aiosqlite

from controlroom.core.config import Config
from controlroom.core.convergence import Converged, converge, normalise_snippet
from controlroom.core.learning import load_weights
from controlroom.core.model import ChangeSet, FileStatus, Finding, TaskState
from controlroom.core.queue import TASK_COLUMNS, log_transition, task_from_row
from controlroom.core.store import Store


@dataclass(frozen=True, slots=True)
class TaskRef:
    id: int
    fingerprint: str
    state: str
    severity: str
    rule: str
    path: str
    line: int

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "state": self.state,
            "severity": self.severity,
            "rule": self.rule,
            "path": self.path,
            "line": self.line,
        }


@dataclass(slots=True)
class EnqueueResult:
    created: list[TaskRef] = field(default_factory=list)
    updated: list[TaskRef] = field(default_factory=list)
    resolved: list[TaskRef] = field(default_factory=list)
    task_ids: dict[str, int] = field(default_factory=dict)  # fingerprint -> task id


async def converge_with_learning(
    store: Store, config: Config, findings: list[Finding]
) -> list[Converged]:
    """``findings`` deduplicated and scored, with the weights learned from past decisions."""
    weights = await load_weights(store) if config.get("convergence.learning", True) else {}
    consensus = int(config.get("convergence.consensus_min_agents", 2))
    return converge(findings, weights, consensus_min_agents=consensus)


async def insert_findings(
    conn: aiosqlite.Connection, sha: str, converged: list[Converged], task_ids: dict[str, int]
) -> None:
    """Every agent's finding under commit ``sha``, linked to its task: the evidence of the queue."""
    await conn.executemany(
        "INSERT INTO findings (commit_sha, agent, rule, severity, path, line, end_line, symbol, "
        "message, snippet, suggested_fix, confidence, fingerprint, task_id, extra_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                sha, f.agent, f.rule, f.severity.value, f.path, f.line, f.end_line, f.symbol,
                f.message, f.snippet, f.suggested_fix, f.confidence, item.fingerprint,
                task_ids.get(item.fingerprint), json.dumps(f.extra, default=str),
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
) -> EnqueueResult:
    """Apply one commit's converged findings to the queue inside the caller's transaction.

    Batched: a few statements per commit, not per finding (Django --all has ~12,000 findings).
    """
    result = EnqueueResult()
    sha = change.commit
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
        task_id = created[item.fingerprint]
        result.created.append(_ref(task_id, item, "pending"))
        result.task_ids[item.fingerprint] = task_id

    updates, reopened = [], []
    for item in converged:
        task = existing.get(item.fingerprint)
        if task is None:
            continue
        state = task.state
        if state is TaskState.RESOLVED:
            state = TaskState.PENDING
            reopened.append((now, task.id, f"reappeared in {sha[:10]}"))
        updates.append(
            (
                state.value, item.priority, item.confidence, item.confidence_reason,
                item.severity.value, item.line, item.symbol, item.message, ",".join(item.agents),
                item.suggested_fix, sha, 1 if task.last_seen_commit != sha else 0, now,
                state.value, task.id,
            )
        )  # fmt: skip
        result.updated.append(_ref(task.id, item, state.value))
        result.task_ids[item.fingerprint] = task.id
    await conn.executemany(
        "UPDATE tasks SET state = ?, priority = ?, confidence = ?, confidence_reason = ?, "
        "severity = ?, line = ?, symbol = ?, message = ?, agents = ?, suggested_fix = ?, "
        "last_seen_commit = ?, seen_count = seen_count + ?, updated_at = ?, "
        "resolved_commit = CASE WHEN ? = 'pending' THEN NULL ELSE resolved_commit END "
        "WHERE id = ?",
        updates,
    )
    await conn.executemany(
        "INSERT INTO decisions (at, task_id, from_state, to_state, actor, reason) "
        "VALUES (?, ?, 'resolved', 'pending', 'system', ?)",
        reopened,
    )

    seen = {item.fingerprint for item in converged}
    result.resolved = await _resolve_gone(conn, change, seen, now, agents_ok, analyze_all)
    return result


async def _rows_by_fingerprint(
    conn: aiosqlite.Connection, columns: str, table: str, fingerprints: list[str]
) -> list[aiosqlite.Row]:
    """Rows of ``table`` whose fingerprint is one of ``fingerprints`` (chunks of 500, by id)."""
    rows: list[aiosqlite.Row] = []
    for at in range(0, len(fingerprints), 500):
        chunk = fingerprints[at : at + 500]
        marks = ", ".join("?" * len(chunk))
        cursor = await conn.execute(
            f"SELECT {columns} FROM {table} WHERE fingerprint IN ({marks}) ORDER BY id", chunk
        )
        rows.extend(await cursor.fetchall())
    return rows


async def _tasks_by_fingerprint(conn: aiosqlite.Connection, fingerprints: list[str]) -> dict:
    rows = await _rows_by_fingerprint(conn, TASK_COLUMNS, "tasks", fingerprints)
    return {row["fingerprint"]: task_from_row(row) for row in rows}


async def _ids_by_fingerprint(conn: aiosqlite.Connection, fingerprints: list[str]) -> dict:
    rows = await _rows_by_fingerprint(conn, "id, fingerprint", "tasks", fingerprints)
    return {row["fingerprint"]: row["id"] for row in rows}


def _ref(task_id: int, item: Converged, state: str) -> TaskRef:
    return TaskRef(
        task_id, item.fingerprint, state, item.severity.value, item.rule, item.path, item.line
    )


async def _resolve_gone(
    conn: aiosqlite.Connection,
    change: ChangeSet,
    seen: set[str],
    now: float,
    agents_ok: set[str],
    analyze_all: bool,
) -> list[TaskRef]:
    """Open tasks in files this commit touched whose problem is gone: resolved "fixed in <sha>".

    Gone means: the file was deleted, or the flagged line's text is no longer in the file, or
    the agents that found it looked at that line again (a changed line, or ``--all``) and did
    not find it. A task is only resolved when every agent behind it ran successfully.
    """
    by_path = {f.path: f for f in change.files if f.status is not FileStatus.DELETED}
    deleted = {f.old_path or f.path for f in change.files if f.status is FileStatus.DELETED}
    renamed_from = {
        f.old_path for f in change.files if f.status is FileStatus.RENAMED and f.old_path
    }
    paths = set(by_path) | deleted | renamed_from
    if not paths:
        return []
    cursor = await conn.execute(
        f"SELECT {TASK_COLUMNS} FROM tasks WHERE state IN ('pending', 'snoozed') "
        f"AND path IN ({', '.join('?' * len(paths))})",
        sorted(paths),
    )
    # Tasks seen again in this commit are skipped before any work (Django --all: ~12,000).
    rows = [row for row in await cursor.fetchall() if row["fingerprint"] not in seen]
    candidates = [t for t in map(task_from_row, rows) if set(t.agents) <= agents_ok]
    snippets = {  # the flagged line's text, from the latest finding of each candidate
        row["fingerprint"]: row["snippet"]
        for row in await _rows_by_fingerprint(
            conn, "fingerprint, snippet", "findings", [t.fingerprint for t in candidates]
        )
    }
    resolved = []
    for task in candidates:
        snippet = snippets.get(task.fingerprint) or ""
        if not _is_gone(
            task.path, task.line, snippet, by_path, deleted | renamed_from, analyze_all
        ):
            continue
        await conn.execute(
            "UPDATE tasks SET state = 'resolved', resolved_commit = ?, updated_at = ?, reason = ? "
            "WHERE id = ?",
            (change.commit, now, f"fixed in {change.commit[:10]}", task.id),
        )
        await log_transition(
            conn, task.id, task.state, "resolved", actor="system",
            reason=f"fixed in {change.commit[:10]}", at=now,
        )  # fmt: skip
        resolved.append(
            TaskRef(
                task.id,
                task.fingerprint,
                "resolved",
                task.severity.value,
                task.rule,
                task.path,
                task.line,
            )
        )
    return resolved


def _is_gone(
    path: str, line: int, snippet: str, by_path: dict, removed: set[str], analyze_all: bool
) -> bool:
    if path in removed and path not in by_path:
        return True
    change = by_path.get(path)
    if change is None or change.new_text is None:
        return False
    wanted = normalise_snippet(snippet)
    if not wanted:
        return analyze_all
    matches = [
        number
        for number, text in enumerate(change.new_text.splitlines(), start=1)
        if normalise_snippet(text) == wanted
    ]
    if not matches:
        return True
    # Still in the file: gone only if the agents re-examined every place it could be.
    return analyze_all or all(change.touches(number) for number in matches)
