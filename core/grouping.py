"""Grouped nitpicks: a commit's many low/info findings of one rule become one task listing them.

A commit that adds 40 functions would otherwise raise 80 "no docstring" / "not exercised" tasks,
one each. The rule (also in docs/ARCHITECTURE.md, "Grouped nitpicks"):

- Groupable: a finding of severity low or info, from one agent, without consensus. Never medium,
  high or critical: those stay one task each.
- A group: the new groupable items of one (agent, rule) in one commit, when there are
  ``convergence.group_min`` or more of them (0: never group). Items that already have a task
  of their own keep it; an item already in a group stays in that group.
- The group's fingerprint is ``group:`` + a hash of (agent, rule, first commit): the same on
  every re-analysis of that commit. Its members are rows of ``task_items`` (each with its own
  fingerprint); the findings stay evidence rows, linked to the group's task.
- Each item is resolved on its own, by the rule of core/enqueue.py (an analysis of the present
  that no longer finds it where it looked): it leaves the list. The group is resolved when every
  item is gone, and reopened when one comes back.
- The group's row: ``DOC100 x14 in pkg/ (first: pkg/a.py:10 f): <first item's message>``, the
  folder being the one that holds every open item;
  ``TaskQueue.findings`` lists every open item.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from controlroom.core.convergence import GROUP_PREFIX, Converged, Weight, score
from controlroom.core.model import ChangeSet, FileStatus, Finding, Severity, TaskState
from controlroom.core.queue import log_transition
from controlroom.core.resolution import Scopes, is_about_change

GROUPABLE = (Severity.LOW, Severity.INFO)


def folder_of(path: str) -> str:
    return posixpath.dirname(path) or "."


def group_fingerprint(agent: str, rule: str, commit: str) -> str:
    """The group's stable id: one (agent, rule), first found in ``commit``."""
    key = "\x1f".join((agent, rule, commit)).encode("utf-8")
    return GROUP_PREFIX + hashlib.sha1(key).hexdigest()[:20]


def groupable(item: Converged) -> bool:
    """Low/info, one agent, one rule, no consensus: a nitpick that may share a task."""
    return (
        item.severity in GROUPABLE
        and not item.consensus
        and len(item.agents) == 1
        and all(f.rule == item.rule for f in item.findings)
    )


@dataclass(slots=True)
class Plan:
    """Which of an analysis's converged items go to a group, and which stay single."""

    singles: list[Converged] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)  # item fingerprint -> group fp
    items: dict[str, Converged] = field(default_factory=dict)  # item fingerprint -> item
    new_groups: dict[str, list[Converged]] = field(default_factory=dict)  # group fp -> items
    group_ids: dict[str, int] = field(default_factory=dict)  # group fp -> task id


async def plan(
    conn: aiosqlite.Connection, converged: list[Converged], commit: str, group_min: int
) -> Plan:
    """Split ``converged``: items of existing groups, items of new groups, and the rest."""
    result = Plan()
    fps = [item.fingerprint for item in converged]
    in_group = {
        row["fingerprint"]: (row["group_fp"], row["task_id"])
        for row in await _select(
            conn,
            "SELECT i.fingerprint, i.task_id, t.fingerprint AS group_fp FROM task_items i "
            "JOIN tasks t ON t.id = i.task_id WHERE i.fingerprint IN ({marks})",
            fps,
        )
    }
    own = {
        row["fingerprint"]
        for row in await _select(
            conn, "SELECT fingerprint FROM tasks WHERE fingerprint IN ({marks})", fps
        )
    }
    candidates: dict[str, list[Converged]] = defaultdict(list)
    for item in converged:
        if item.fingerprint in in_group:
            group_fp, task_id = in_group[item.fingerprint]
            result.members[item.fingerprint] = group_fp
            result.items[item.fingerprint] = item
            result.group_ids[group_fp] = task_id
        elif group_min > 0 and item.fingerprint not in own and groupable(item):
            key = group_fingerprint(item.agents[0], item.rule, commit)
            candidates[key].append(item)
        else:
            result.singles.append(item)
    existing = {
        row["fingerprint"]: row["id"]
        for row in await _select(
            conn, "SELECT id, fingerprint FROM tasks WHERE fingerprint IN ({marks})",
            list(candidates),
        )
    }  # fmt: skip
    for group_fp, items in candidates.items():
        if group_fp in existing:
            result.group_ids[group_fp] = existing[group_fp]
        elif len(items) >= group_min:
            result.new_groups[group_fp] = items
        else:
            result.singles.extend(items)
            continue
        for item in items:
            result.members[item.fingerprint] = group_fp
            result.items[item.fingerprint] = item
    return result


async def create(
    conn: aiosqlite.Connection, grouped: Plan, commit: str, now: float
) -> dict[str, int]:
    """New group tasks and every member's ``task_items`` row; returns item fp -> task id.

    An item found again after it was gone is open again."""
    for group_fp, items in grouped.new_groups.items():
        head = _first(items)
        cursor = await conn.execute(
            "INSERT INTO tasks (fingerprint, state, priority, confidence, confidence_reason, "
            "severity, rule, path, line, symbol, message, agents, first_seen_commit, "
            "last_seen_commit, seen_count, created_at, updated_at) "
            "VALUES (?, 'pending', 0, 0, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (group_fp, head.severity.value, head.rule, head.path, head.line, head.symbol,
             head.message, ",".join(head.agents), commit, commit, now, now),
        )  # fmt: skip
        task_id = int(cursor.lastrowid or 0)
        grouped.group_ids[group_fp] = task_id
        await log_transition(
            conn, task_id, "new", "pending", actor="system",
            reason=f"found in {commit[:10]} ({len(items)} items)", at=now,
        )  # fmt: skip
    ids = {fp: grouped.group_ids[group_fp] for fp, group_fp in grouped.members.items()}
    await conn.executemany(
        "INSERT INTO task_items (fingerprint, task_id, path, line, symbol) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (fingerprint) DO UPDATE SET state = 'open', gone_commit = NULL, "
        "path = excluded.path, line = excluded.line, symbol = excluded.symbol",
        [(fp, ids[fp], item.path, item.line, item.symbol) for fp, item in grouped.items.items()],
    )
    return ids


@dataclass(slots=True)
class Settled:
    """The groups an analysis created, updated (found again) and resolved."""

    created: list[tuple[int, str, Converged]] = field(default_factory=list)
    updated: list[tuple[int, str, Converged, str]] = field(default_factory=list)
    resolved: list[Any] = field(default_factory=list)  # the tasks' rows before resolving


async def settle(
    conn: aiosqlite.Connection,
    grouped: Plan,
    change: ChangeSet,
    *,
    now: float,
    lineage: Any,
    weights: dict[tuple[str, str], Weight],
    agents_ok: set[str],
    analyze_all: bool,
    source: str,
    stale: set[str] | frozenset[str],
    is_gone: Any,
) -> Settled:
    """After the evidence is stored: items gone from the present leave their groups, then every
    touched group is projected from its open items' latest findings (resolved when none is left,
    reopened when one came back)."""
    sha = change.commit
    touched = set(grouped.group_ids.values())
    touched |= {
        row["task_id"]
        for row in await _select(
            conn, "SELECT task_id FROM task_items WHERE fingerprint IN ({marks})", sorted(stale)
        )
    }
    dropped: set[int] = set()  # groups that lost an item in this analysis
    if source == "agent":
        dropped = await _drop_gone(conn, change, set(grouped.members), agents_ok,
                                   analyze_all, lineage, is_gone)  # fmt: skip
        touched |= dropped
    created_ids = {grouped.group_ids[fp] for fp in grouped.new_groups}
    found_ids = {grouped.group_ids[g] for g in grouped.members.values()}
    settled = Settled()
    tasks = {
        row["id"]: row
        for row in await _select(
            conn, "SELECT id, fingerprint, state, severity, rule, path, line, last_seen_commit, "
            "resolved_commit FROM tasks "
            "WHERE id IN ({marks})", sorted(touched),
        )
    }  # fmt: skip
    items = await _open_items(conn, sorted(touched))
    for task_id, task in tasks.items():
        state = TaskState(task["state"])
        projected = _project(items.get(task_id, []), weights)
        if projected is None:  # no open item with evidence left
            if state.is_open and task_id in dropped:  # the last ones are gone now: resolved
                await conn.execute(
                    "UPDATE tasks SET state = 'resolved', resolved_commit = ?, updated_at = ?, "
                    "reason = ? WHERE id = ?",
                    (sha, now, f"every item fixed by {sha[:10]}", task_id),
                )
                await log_transition(
                    conn, task_id, state.value, "resolved", actor="system",
                    reason=f"every item fixed by {sha[:10]}", at=now,
                )  # fmt: skip
                settled.resolved.append(task)
            continue
        found = task_id in found_ids
        advance = (
            found and task["last_seen_commit"] != sha and lineage.current(task["last_seen_commit"])
        )
        if found and state is TaskState.RESOLVED and lineage.current(task["resolved_commit"]):
            await log_transition(
                conn, task_id, "resolved", "pending", actor="system",
                reason=f"reappeared in {sha[:10]}", at=now,
            )  # fmt: skip
            state = TaskState.PENDING
        last_seen = sha if advance or task_id in created_ids else task["last_seen_commit"]
        await conn.execute(
            "UPDATE tasks SET priority = ?, confidence = ?, confidence_reason = ?, severity = ?, "
            "rule = ?, path = ?, line = ?, symbol = ?, message = ?, agents = ?, "
            "suggested_fix = NULL, state = ?, last_seen_commit = ?, seen_count = seen_count + ?, "
            "updated_at = ?, resolved_commit = CASE WHEN ? = 'pending' THEN NULL "
            "ELSE resolved_commit END WHERE id = ?",
            (projected.priority, projected.confidence, projected.confidence_reason,
             projected.severity.value, projected.rule, projected.path, projected.line,
             projected.symbol, projected.message, ",".join(projected.agents), state.value,
             last_seen, 1 if advance else 0, now, state.value, task_id),
        )  # fmt: skip
        if task_id in created_ids:
            settled.created.append((task_id, task["fingerprint"], projected))
        elif found:
            settled.updated.append((task_id, task["fingerprint"], projected, state.value))
    return settled


def _first(items: list[Converged]) -> Converged:
    return min(items, key=lambda item: (item.path, item.line))


def _project(findings: list[Finding], weights: dict[tuple[str, str], Weight]) -> Converged | None:
    """The group's row from its open items' latest findings: rule, count, folder, first item."""
    if not findings:
        return None
    findings.sort(key=lambda f: (f.path, f.line))
    first = findings[0]
    scored = score(GROUP_PREFIX, findings, weights, consensus_min=len(findings) + 1)
    folder = posixpath.commonpath([folder_of(f.path) for f in findings])
    where = f"{folder}/" if folder and folder != "." else "the repository"
    message = (
        f"{first.rule} x{len(findings)} in {where} (first: {first.path}:{first.line} "
        f"{first.symbol or ''}".rstrip()
        + f"): {first.message}"
    )
    head = Finding(
        agent=first.agent, rule=first.rule, severity=scored.severity, path=first.path,
        line=first.line, message=message, symbol=first.symbol, confidence=scored.confidence,
        detector=first.detector,
    )  # fmt: skip
    scored.primary = head
    scored.confidence_reason = f"{len(findings)} items; {scored.confidence_reason}"
    return scored


async def _open_items(conn: aiosqlite.Connection, task_ids: list[int]) -> dict[int, list[Finding]]:
    """Each group's open items, as their latest finding (by id)."""
    latest: dict[str, Any] = {}
    owner: dict[str, int] = {}
    for row in await _select(
        conn,
        "SELECT i.task_id, f.* FROM task_items i JOIN findings f ON f.fingerprint = i.fingerprint "
        "WHERE i.state = 'open' AND i.task_id IN ({marks}) ORDER BY f.id",
        task_ids,
    ):
        latest[row["fingerprint"]] = row
        owner[row["fingerprint"]] = row["task_id"]
    result: dict[int, list[Finding]] = defaultdict(list)
    for fp, row in latest.items():
        result[owner[fp]].append(
            Finding(
                agent=row["agent"], rule=row["rule"], severity=Severity(row["severity"]),
                path=row["path"], line=row["line"], message=row["message"],
                symbol=row["symbol"], snippet=row["snippet"], confidence=row["confidence"],
                end_line=row["end_line"], detector=row["detector"],
            )
        )  # fmt: skip
    return result


async def _drop_gone(
    conn: aiosqlite.Connection,
    change: ChangeSet,
    found: set[str],
    agents_ok: set[str],
    analyze_all: bool,
    lineage: Any,
    is_gone: Any,
) -> set[int]:
    """Mark gone the open items in files this commit touched that it no longer finds (the rule
    of core/enqueue.py for single tasks). Returns the groups that lost an item."""
    by_path = {f.path: f for f in change.files if f.status is not FileStatus.DELETED}
    removed = {f.old_path or f.path for f in change.files if f.status is FileStatus.DELETED}
    removed |= {f.old_path for f in change.files if f.status is FileStatus.RENAMED and f.old_path}
    paths = sorted(set(by_path) | removed)
    rows = await _select(
        conn,
        "SELECT i.fingerprint, i.task_id, t.agents, t.last_seen_commit FROM task_items i "
        "JOIN tasks t ON t.id = i.task_id WHERE i.state = 'open' AND t.state IN "
        "('pending', 'snoozed') AND i.path IN ({marks})",
        paths,
    )
    candidates = {
        row["fingerprint"]: row["task_id"]
        for row in rows
        if row["fingerprint"] not in found
        and lineage.current(row["last_seen_commit"])
        and {a for a in row["agents"].split(",") if a} <= agents_ok
    }
    latest: dict[str, Any] = {}
    for row in await _select(
        conn,
        "SELECT fingerprint, path, symbol, line, end_line, snippet, extra_json FROM findings "
        "WHERE fingerprint IN ({marks}) ORDER BY id",
        sorted(candidates),
    ):
        latest[row["fingerprint"]] = row
    gone = []
    scopes = Scopes.of_change(change)
    for fp, row in latest.items():
        if is_about_change(row["extra_json"]):
            continue  # an item on the change itself is never found again in a later diff
        span = max(0, (row["end_line"] or row["line"]) - row["line"])
        if is_gone(row["path"], row["symbol"], row["snippet"], by_path, removed, analyze_all,
                   span=span, scopes=scopes):  # fmt: skip
            gone.append(fp)
    await conn.executemany(
        "UPDATE task_items SET state = 'gone', gone_commit = ? WHERE fingerprint = ?",
        [(change.commit, fp) for fp in gone],
    )
    return {candidates[fp] for fp in gone}


async def refs_to_place(store: Any, fingerprints: list[str], paths: list[str]) -> set[str]:
    """Where the groups this analysis may touch were last seen or resolved (for the lineage)."""
    refs: set[str] = set()
    for column, values in (("i.fingerprint", fingerprints), ("i.path", paths)):
        for at in range(0, len(values), 500):
            chunk = values[at : at + 500]
            for row in await store.fetchall(
                "SELECT DISTINCT t.last_seen_commit, t.resolved_commit FROM task_items i "
                f"JOIN tasks t ON t.id = i.task_id WHERE {column} IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                refs.update(r for r in (row["last_seen_commit"], row["resolved_commit"]) if r)
    return refs


async def _select(conn: aiosqlite.Connection, sql: str, values: list[Any]) -> list[Any]:
    """``sql`` with ``{marks}`` run over ``values`` in chunks of 500."""
    rows: list[Any] = []
    for at in range(0, len(values), 500):
        chunk = values[at : at + 500]
        cursor = await conn.execute(sql.format(marks=", ".join("?" * len(chunk))), chunk)
        rows.extend(await cursor.fetchall())
    return rows


__all__ = ["GROUPABLE", "Plan", "create", "group_fingerprint", "groupable", "plan", "settle"]
