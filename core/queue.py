"""The proactivity queue: listing tasks and the operator's decisions, each one logged.

Every state change is appended to the ``decisions`` log in the same transaction as the change, and
the learned weights move with it, so a crash at any moment leaves both consistent.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import aiosqlite

from controlroom.core.config import Config
from controlroom.core.convergence import is_group
from controlroom.core.errors import InvalidTransition, TaskNotFound
from controlroom.core.learning import learn_transition, rerank_rules
from controlroom.core.model import Task, TaskState
from controlroom.core.store import Store
from controlroom.core.task_rows import (
    TASK_COLUMNS,
    Decision,
    FindingRecord,
    decision_from_row,
    finding_record_from_row,
    task_from_row,
)
from controlroom.core.taskfilter import expand_saved
from controlroom.core.taskfilter import parse as parse_filter
from controlroom.core.taskview import TaskView

OPERATOR_TARGETS = {TaskState.APPROVED, TaskState.REJECTED, TaskState.SNOOZED, TaskState.PENDING}
_ALLOWED: dict[TaskState, set[TaskState]] = {
    TaskState.PENDING: {TaskState.APPROVED, TaskState.REJECTED, TaskState.SNOOZED},
    TaskState.SNOOZED: {TaskState.APPROVED, TaskState.REJECTED, TaskState.PENDING},
    TaskState.APPROVED: {TaskState.REJECTED, TaskState.PENDING},
    TaskState.REJECTED: {TaskState.APPROVED, TaskState.PENDING},
    TaskState.FAILED: {TaskState.APPROVED, TaskState.REJECTED, TaskState.PENDING},
    TaskState.RESOLVED: set(),
    TaskState.APPLIED: set(),
}


async def log_transition(
    conn: aiosqlite.Connection,
    task_id: int,
    from_state: str,
    to_state: str,
    *,
    actor: str,
    reason: str | None,
    at: float,
    undoes: int | None = None,
    batch: int | None = None,
) -> int:
    """Append one row to the decision log (inside the caller's transaction).

    ``batch`` groups the rows of one bulk decision (the id of its first row): undo reverts them
    together.
    """
    cursor = await conn.execute(
        "INSERT INTO decisions (at, task_id, from_state, to_state, actor, reason, undoes, batch) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (at, task_id, from_state, to_state, actor, reason, undoes, batch),
    )
    return cursor.lastrowid or 0


async def _next_decision_id(conn: aiosqlite.Connection) -> int:
    cursor = await conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM decisions")
    row = await cursor.fetchone()
    return int(row[0]) if row else 1


class Fold(NamedTuple):
    """A listing and its fold: tasks listed, tasks below the fold, of them hidden by learning."""

    listed: int
    below: int
    by_learning: int


class TaskQueue:
    """Tasks in priority order and the decisions on them."""

    def __init__(
        self, store: Store, config: Config | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------------
    def _where(
        self,
        states: Sequence[TaskState | str] | None,
        search: str | None,
        view: TaskView | None = None,
    ) -> tuple[str, list[Any]]:
        """``search`` in the filter language of ``core.taskfilter`` (a ``ValueError`` names a bad
        term); the states it names replace ``states`` (``None``: every state)."""
        saved = (self.config or Config({})).get("queue.filters")
        clauses, params = parse_filter(expand_saved(search, saved)).where(states or None)
        if view is not None:
            more, values = view.where()
            clauses, params = [*clauses, *more], [*params, *values]
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    async def list(
        self,
        *,
        states: Sequence[TaskState | str] | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int = 500,
        view: TaskView | None = None,
    ) -> list[Task]:
        """Tasks in priority order, or in ``view``'s order (grouping, sort, baseline last)."""
        await self.wake_snoozed()
        where, params = self._where(states, search, view)
        order = view.order_by() if view is not None else "priority DESC, confidence DESC, id"
        rows = await self.store.fetchall(
            f"SELECT {TASK_COLUMNS} FROM tasks{where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [task_from_row(r) for r in rows]

    async def count(
        self,
        *,
        states: Sequence[TaskState | str] | None = None,
        search: str | None = None,
        view: TaskView | None = None,
    ) -> int:
        where, params = self._where(states, search, view)
        return int(await self.store.fetchval(f"SELECT count(*) FROM tasks{where}", params))

    async def fold(
        self,
        *,
        states: Sequence[TaskState | str] | None = None,
        search: str | None = None,
        view: TaskView,
    ) -> Fold:
        """How many tasks ``view`` lists, and how many its fold (``min_severity``) keeps out of
        the list, of them those learning put there (core/taskview.py)."""
        listed = await self.count(states=states, search=search, view=view)
        if view.min_severity is None:
            return Fold(listed, 0, 0)
        everything = replace(view, min_severity=None)
        unlearned = replace(view, learning_fold=False)
        below = await self.count(states=states, search=search, view=everything) - listed
        learned = await self.count(states=states, search=search, view=unlearned) - listed
        return Fold(listed, below, learned)

    async def get(self, task_id: int) -> Task:
        row = await self.store.fetchone(
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,)
        )
        if row is None:
            raise TaskNotFound(f"no task with id {task_id}")
        return task_from_row(row)

    async def counts_by_state(self) -> dict[str, int]:
        rows = await self.store.fetchall("SELECT state, count(*) AS n FROM tasks GROUP BY state")
        return {row["state"]: row["n"] for row in rows}

    async def history(self, task_id: int) -> builtins.list[Decision]:
        rows = await self.store.fetchall(
            "SELECT * FROM decisions WHERE task_id = ? ORDER BY id", (task_id,)
        )
        return [decision_from_row(r) for r in rows]

    async def findings(self, task_id: int) -> builtins.list[FindingRecord]:
        """The task's evidence: the newest finding of each agent; for a group (one task listing
        several items, core/grouping.py) the newest finding of every open item, by path and line."""
        task = await self.get(task_id)
        if is_group(task.fingerprint):
            rows = await self.store.fetchall(
                "SELECT f.* FROM findings f JOIN task_items i ON i.fingerprint = f.fingerprint "
                "WHERE i.task_id = ? AND i.state = 'open' ORDER BY f.id DESC",
                (task_id,),
            )
            items: dict[str, FindingRecord] = {}
            for row in rows:
                items.setdefault(row["fingerprint"], finding_record_from_row(row))
            return sorted(items.values(), key=lambda f: (f.path, f.line))
        rows = await self.store.fetchall(
            "SELECT f.* FROM findings f JOIN commits c ON c.sha = f.commit_sha "
            "WHERE f.fingerprint = ? ORDER BY c.analyzed_at DESC, f.agent",
            (task.fingerprint,),
        )
        latest: dict[str, FindingRecord] = {}
        for row in rows:  # one (the newest) finding per agent
            latest.setdefault(row["agent"], finding_record_from_row(row))
        return list(latest.values())

    # -- deciding --------------------------------------------------------------------------------
    async def decide(
        self,
        task_id: int,
        to: TaskState | str,
        *,
        actor: str = "operator",
        reason: str | None = None,
    ) -> Decision:
        return (await self.decide_many([task_id], to, actor=actor, reason=reason))[0]

    async def decide_many(
        self,
        task_ids: Sequence[int],
        to: TaskState | str,
        *,
        actor: str = "operator",
        reason: str | None = None,
    ) -> builtins.list[Decision]:
        """Move tasks to ``to`` in one transaction; all or nothing."""
        target = TaskState(to)
        if target not in OPERATOR_TARGETS:
            raise InvalidTransition(f"an operator cannot move a task to {target}")
        now = self.clock()
        snooze_until = None
        if target is TaskState.SNOOZED:
            hours = float((self.config or Config({})).get("queue.snooze_hours"))
            snooze_until = now + hours * 3600
        decisions = []
        rules: set[str] = set()
        async with self.store.transaction() as conn:
            # The write lock is held (BEGIN IMMEDIATE), so the next rowid is the first row's id.
            batch = await _next_decision_id(conn)
            for task_id in task_ids:
                task = await self._get_in(conn, task_id)
                if target not in _ALLOWED[task.state]:
                    raise InvalidTransition(
                        f"task {task_id} is {task.state}; it cannot become {target}"
                    )
                await conn.execute(
                    "UPDATE tasks SET state = ?, updated_at = ?, snoozed_until = ?, reason = ? "
                    "WHERE id = ?",
                    (target.value, now, snooze_until, reason, task_id),
                )
                await learn_transition(
                    conn, task, task.state, target, now, self.config, rerank_now=False
                )
                rules.add(task.rule)
                decision_id = await log_transition(
                    conn,
                    task_id,
                    task.state,
                    target,
                    actor=actor,
                    reason=reason,
                    at=now,
                    batch=batch,
                )
                decisions.append(
                    Decision(decision_id, now, task_id, task.state, target, actor, reason, None)
                )
            await rerank_rules(conn, rules, self.config, now=now)
        return decisions

    async def settle(
        self, task_id: int, to: TaskState | str, *, reason: str, actor: str = "controlroom"
    ) -> Decision:
        """Record how carrying out an approved task ended: ``applied`` or ``failed``.

        Only an approved task can be settled, checked inside the transaction, so a rejection
        that lands while the fix was being made wins and this raises InvalidTransition.
        """
        target = TaskState(to)
        if target not in (TaskState.APPLIED, TaskState.FAILED):
            raise InvalidTransition(f"a task is settled as applied or failed, not {target}")
        now = self.clock()
        async with self.store.transaction() as conn:
            task = await self._get_in(conn, task_id)
            if task.state is not TaskState.APPROVED:
                raise InvalidTransition(f"task {task_id} is {task.state}, no longer approved")
            await conn.execute(
                "UPDATE tasks SET state = ?, updated_at = ?, reason = ? WHERE id = ?",
                (target.value, now, reason, task_id),
            )
            decision_id = await log_transition(
                conn, task_id, task.state, target, actor=actor, reason=reason, at=now
            )
        return Decision(decision_id, now, task_id, task.state, target, actor, reason, None)

    async def undo(self, *, actor: str = "operator") -> builtins.list[Decision]:
        """Revert ``actor``'s most recent decision that is not yet undone, and with it every other
        decision of the same bulk (``A``/``R`` on marked rows). All or nothing; each undo is logged.

        Returns the undo decisions, last task first; an empty list when there is nothing to undo.
        """
        now = self.clock()
        undone: list[Decision] = []
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "SELECT * FROM decisions d WHERE actor = ? AND undoes IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.id) "
                "ORDER BY id DESC LIMIT 1",
                (actor,),
            )
            row = await cursor.fetchone()
            if row is None:
                return []
            rows = [row]
            if row["batch"] is not None:
                cursor = await conn.execute(
                    "SELECT * FROM decisions d WHERE batch = ? AND actor = ? AND undoes IS NULL "
                    "AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.id) "
                    "ORDER BY id DESC",
                    (row["batch"], actor),
                )
                rows = list(await cursor.fetchall())
            for last in map(decision_from_row, rows):
                undone.append(await self._revert(conn, last, actor=actor, now=now))
            rules = [(await self._get_in(conn, d.task_id)).rule for d in undone]
            await rerank_rules(conn, rules, self.config, now=now)
        return undone

    async def _revert(
        self, conn: aiosqlite.Connection, last: Decision, *, actor: str, now: float
    ) -> Decision:
        task = await self._get_in(conn, last.task_id)
        if task.state != last.to_state:
            raise InvalidTransition(
                f"task {task.id} changed since (now {task.state}); nothing to undo"
            )
        previous = TaskState(last.from_state)
        snooze = task.snoozed_until if previous is TaskState.SNOOZED else None
        await conn.execute(
            "UPDATE tasks SET state = ?, updated_at = ?, snoozed_until = ?, reason = NULL "
            "WHERE id = ?",
            (previous.value, now, snooze, task.id),
        )
        await learn_transition(conn, task, task.state, previous, now, self.config, rerank_now=False)
        reason = f"undo of decision {last.id}"
        decision_id = await log_transition(
            conn, task.id, task.state, previous, actor=actor, reason=reason, at=now, undoes=last.id
        )
        return Decision(decision_id, now, task.id, task.state, previous, actor, reason, last.id)

    async def wake_snoozed(self) -> int:
        """Snoozed tasks whose time is up go back to pending (logged as the system's decision)."""
        now = self.clock()
        if self.store.read_only:  # a viewer leaves them to the next writer
            return 0
        due = await self.store.fetchval(
            "SELECT count(*) FROM tasks WHERE state = 'snoozed' AND snoozed_until <= ?", (now,)
        )
        if not due:
            return 0
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM tasks WHERE state = 'snoozed' AND snoozed_until <= ?", (now,)
            )
            ids = [r[0] for r in await cursor.fetchall()]
            for task_id in ids:
                await conn.execute(
                    "UPDATE tasks SET state = 'pending', snoozed_until = NULL, updated_at = ? "
                    "WHERE id = ?",
                    (now, task_id),
                )
                await log_transition(
                    conn,
                    task_id,
                    "snoozed",
                    "pending",
                    actor="system",
                    reason="snooze ended",
                    at=now,
                )
        return len(ids)

    async def _get_in(self, conn: aiosqlite.Connection, task_id: int) -> Task:
        cursor = await conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,))
        row = await cursor.fetchone()
        if row is None:
            raise TaskNotFound(f"no task with id {task_id}")
        return task_from_row(row)


__all__ = [
    "OPERATOR_TARGETS",
    "TASK_COLUMNS",
    "Decision",
    "FindingRecord",
    "TaskQueue",
    "finding_record_from_row",
    "log_transition",
    "task_from_row",
]
