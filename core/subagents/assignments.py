"""The assignments table: submit, take, start, finish and hand back units of work, under leases.

Lifecycle: ``pending -> assigned -> running -> completed | failed``. Every (re)assignment bumps
``lease``; a worker reports with the lease it took the row under, so a result that arrives after
its worker was declared dead (and the row handed to another) changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from controlroom.core.store import Store
from controlroom.core.subagents.routing import has_capable_live, route_pending
from controlroom.core.subagents.sql import all_rows, one, value
from controlroom.core.subagents.units import LOCAL, Assignment, WorkUnit

Clock = Callable[[], float]

_FINISH = (
    "UPDATE assignments SET state = ?, finished_at = ?,"
    " duration_s = coalesce(?, ? - coalesce(started_at, assigned_at, created_at)),"
    " result_json = ?, error = ? WHERE id = ? AND lease = ? AND state IN ('assigned', 'running')"
)


@dataclass(frozen=True, slots=True)
class Finished:
    """A result waiting to be recorded, with the lease its work was taken under."""

    assignment_id: int
    lease: int
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    duration_s: float | None = None

    def params(self, now: float) -> tuple[Any, ...]:
        return (
            "completed" if self.ok else "failed",
            now,
            self.duration_s,
            now,
            json.dumps(self.result) if self.result is not None else None,
            self.error,
            self.assignment_id,
            self.lease,
        )


_INSERT = (
    "INSERT INTO assignments (kind, capability, target, payload_json, state, subagent, lease,"
    " attempts, allow_local, created_at, assigned_at, started_at, finished_at, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class AssignmentBoard:
    """All reads and writes of ``assignments`` go through here."""

    def __init__(self, store: Store, *, missed_heartbeats: int = 3, clock: Clock = time.time):
        self.store = store
        self.missed_heartbeats = missed_heartbeats
        self.clock = clock

    # -- the submitting side ------------------------------------------------------------------
    async def submit(
        self, unit: WorkUnit, *, local_allowed: bool, route: bool = True
    ) -> tuple[Assignment, str]:
        """Record ``unit`` and decide where it goes, in one transaction. Returns the row and the
        decision: "routed" (pending or assigned to a worker), "local" (run it yourself, the row
        is already ``running`` on "local") or "impossible" (the row is already ``failed``).
        ``route=False`` (the "local" backend) never hands a unit to a worker."""
        now = self.clock()
        base = (unit.kind, unit.capability, unit.target, unit.to_json())
        async with self.store.transaction() as conn:
            if route and await has_capable_live(conn, unit.capability, now, self.missed_heartbeats):
                cursor = await conn.execute(
                    _INSERT,
                    (*base, "pending", None, 0, 0, int(local_allowed), now, None, None, None, None),
                )
                await route_pending(conn, now, self.missed_heartbeats)
                decision = "routed"
            elif local_allowed:
                cursor = await conn.execute(
                    _INSERT, (*base, "running", LOCAL, 1, 1, 1, now, now, now, None, None)
                )
                decision = "local"
            else:
                reason = (
                    f"no live sub-agent offers {unit.capability!r} and running it locally is"
                    " not allowed ([subagents] local_capabilities)"
                )
                cursor = await conn.execute(
                    _INSERT, (*base, "failed", None, 0, 0, 0, now, None, None, now, reason)
                )
                decision = "impossible"
            row_id = cursor.lastrowid
            row = await one(conn, "SELECT * FROM assignments WHERE id = ?", (row_id,))
        return Assignment.from_row(row), decision

    async def record(
        self,
        unit: WorkUnit,
        *,
        state: str,
        subagent: str | None,
        local_allowed: bool,
        error: str | None = None,
    ) -> Assignment:
        """Record a unit another backend routes (Celery): "assigned" to a queue, "running" on
        "local", or already "failed" with ``error``."""
        now = self.clock()
        finished = now if state == "failed" else None
        started = now if state == "running" else None
        base = (unit.kind, unit.capability, unit.target, unit.to_json(), state, subagent)
        params = (*base, 1, 1, int(local_allowed), now, now, started, finished, error)
        async with self.store.transaction() as conn:
            cursor = await conn.execute(_INSERT, params)
            row = await one(conn, "SELECT * FROM assignments WHERE id = ?", (cursor.lastrowid,))
        return Assignment.from_row(row)

    async def mark_running(self, assignment_id: int, lease: int, *, subagent: str) -> bool:
        """A unit another backend routed has started on ``subagent``."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE assignments SET state = 'running', subagent = ?,"
                " started_at = coalesce(started_at, ?)"
                " WHERE id = ? AND lease = ? AND state IN ('assigned', 'running')",
                (subagent, self.clock(), assignment_id, lease),
            )
            return cursor.rowcount > 0

    async def settle(
        self,
        assignment_id: int,
        lease: int,
        *,
        subagent: str,
        ok: bool,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        duration_s: float | None = None,
        attempts: int | None = None,
    ) -> bool:
        """The end of a unit another backend carried out, with where it ran (the worker)."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE assignments SET subagent = ?, attempts = coalesce(?, attempts)"
                " WHERE id = ? AND lease = ? AND state IN ('assigned', 'running')",
                (subagent, attempts, assignment_id, lease),
            )
            if cursor.rowcount == 0:
                return False
            item = Finished(assignment_id, lease, ok, result, error, duration_s)
            await conn.execute(_FINISH, item.params(self.clock()))
        return True

    async def take_back_for_local(
        self,
        assignment_id: int,
        *,
        from_states: tuple[str, ...] = ("pending",),
        note: str | None = None,
    ) -> Assignment | None:
        """A row nobody can take any more (its workers died): run it locally instead."""
        now = self.clock()
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE assignments SET state = 'running', subagent = ?, lease = lease + 1,"
                " attempts = attempts + 1, assigned_at = ?, started_at = ?, error = ?"
                f" WHERE id = ? AND state IN ({','.join('?' * len(from_states))})",
                (LOCAL, now, now, note, assignment_id, *from_states),
            )
            if cursor.rowcount == 0:
                return None
            row = await one(conn, "SELECT * FROM assignments WHERE id = ?", (assignment_id,))
        return Assignment.from_row(row)

    async def fail_pending(self, assignment_id: int, reason: str) -> bool:
        """Give up on a row that is still pending (no capable sub-agent left, deadline passed)."""
        now = self.clock()
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE assignments SET state = 'failed', finished_at = ?, error = ?,"
                " lease = lease + 1 WHERE id = ? AND state IN ('pending', 'assigned')",
                (now, reason, assignment_id),
            )
            return cursor.rowcount > 0

    async def abandon(self, assignment_id: int, reason: str) -> bool:
        """Fail an open row whatever its state; its lease changes so a late result is ignored."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE assignments SET state = 'failed', finished_at = ?, error = ?,"
                " lease = lease + 1 WHERE id = ? AND state IN ('pending', 'assigned', 'running')",
                (self.clock(), reason, assignment_id),
            )
            return cursor.rowcount > 0

    async def has_capable_live(self, capability: str) -> bool:
        return await has_capable_live(
            self.store.conn, capability, self.clock(), self.missed_heartbeats
        )

    # -- the worker side ----------------------------------------------------------------------
    async def exchange(
        self,
        subagent: str,
        capabilities: Sequence[str],
        *,
        finished: Sequence[Finished] = (),
        take: bool = True,
        route: bool = True,
    ) -> tuple[list[bool], list[Assignment]]:
        """One worker cycle in one transaction: record ``finished`` results (each applied only
        under its lease), route pending work, and start what is assigned to ``subagent``.
        Returns whether each result was applied, and the assignments now running here."""
        if not finished and not (take and await self._work_waiting(subagent, capabilities)):
            return [], []
        now = self.clock()
        applied: list[bool] = []
        taken: list[Any] = []
        async with self.store.transaction() as conn:
            for item in finished:
                cursor = await conn.execute(_FINISH, item.params(now))
                applied.append(cursor.rowcount > 0)
            if take:
                if route:
                    await route_pending(conn, now, self.missed_heartbeats)
                taken = await all_rows(
                    conn,
                    "UPDATE assignments SET state = 'running', started_at = ?"
                    " WHERE subagent = ? AND state = 'assigned' RETURNING *",
                    (now, subagent),
                )
        return applied, sorted((Assignment.from_row(r) for r in taken), key=lambda a: a.id)

    async def _work_waiting(self, subagent: str, capabilities: Sequence[str]) -> bool:
        """A cheap read (two index lookups) before taking the write lock."""
        marks = ",".join("?" * len(capabilities))
        return bool(
            await value(
                self.store.conn,
                "SELECT EXISTS (SELECT 1 FROM assignments WHERE subagent = ? AND state = 'assigned')"
                " OR EXISTS (SELECT 1 FROM assignments WHERE state = 'pending'"
                f" AND capability IN ({marks}))",
                (subagent, *capabilities),
            )
        )

    async def finish(
        self,
        assignment_id: int,
        lease: int,
        *,
        ok: bool,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        duration_s: float | None = None,
    ) -> bool:
        """Record the end of a run taken under ``lease``. False: the lease is gone (the row was
        handed to someone else), and nothing was changed."""
        item = Finished(assignment_id, lease, ok, result, error, duration_s)
        async with self.store.transaction() as conn:
            cursor = await conn.execute(_FINISH, item.params(self.clock()))
            return cursor.rowcount > 0

    async def prune(self, finished_before: float) -> int:
        """Delete completed and failed rows that ended before ``finished_before``."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM assignments WHERE state IN ('completed', 'failed')"
                " AND finished_at < ?",
                (finished_before,),
            )
            return cursor.rowcount

    async def hand_back(self, assignment_id: int, lease: int, reason: str) -> bool:
        """Put unfinished work back to pending, exactly as it was, under a new lease."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE assignments SET state = 'pending', subagent = NULL, lease = lease + 1,"
                " assigned_at = NULL, started_at = NULL, error = ?"
                " WHERE id = ? AND lease = ? AND state IN ('assigned', 'running')",
                (f"handed back: {reason}", assignment_id, lease),
            )
            return cursor.rowcount > 0

    # -- reads --------------------------------------------------------------------------------
    async def get(self, assignment_id: int) -> Assignment | None:
        row = await one(self.store.conn, "SELECT * FROM assignments WHERE id = ?", (assignment_id,))
        return Assignment.from_row(row) if row else None

    async def states(self, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
        """id -> (state, subagent) for many rows in one query."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await all_rows(
            self.store.conn,
            f"SELECT id, state, subagent, capability FROM assignments WHERE id IN ({marks})",
            tuple(ids),
        )
        return {r["id"]: (r["state"], r["subagent"]) for r in rows}

    async def recent(
        self, *, limit: int = 200, states: Sequence[str] | None = None
    ) -> list[Assignment]:
        where = ""
        params: tuple[str, ...] = ()
        if states:
            where = f" WHERE state IN ({','.join('?' * len(states))})"
            params = tuple(states)
        rows = await all_rows(
            self.store.conn,
            f"SELECT * FROM assignments{where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [Assignment.from_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await all_rows(
            self.store.conn, "SELECT state, count(*) FROM assignments GROUP BY state"
        )
        return {r[0]: r[1] for r in rows}
