"""Sub-agents in the store: register, heartbeat, drain, unregister, and declare the silent dead.

A sub-agent is dead once it has missed ``missed_heartbeats`` beats of its own interval. Its name is
free at once when it ran on this host and its process is gone (killed with -9, say): a new worker
of that name takes the row over without waiting for the heartbeats to lapse. Declaring it dead hands its open assignments back to ``pending`` with a new lease (see
assignments.py).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite

from controlroom.core.store import Store
from controlroom.core.subagents.sql import all_rows, one

Clock = Callable[[], float]


@dataclass(slots=True)
class Subagent:
    name: str
    pid: int
    host: str
    capabilities: tuple[str, ...]
    max_concurrent: int
    status: str  # live / draining / dead
    heartbeat_interval: float
    started_at: float
    last_heartbeat: float
    life: int
    load: int = 0

    def can_take(self, capability: str) -> bool:
        return self.status == "live" and capability in self.capabilities


def _subagent(row: aiosqlite.Row) -> Subagent:
    return Subagent(
        name=row["name"],
        pid=row["pid"],
        host=row["host"],
        capabilities=tuple(c for c in row["capabilities"].split(",") if c),
        max_concurrent=row["max_concurrent"],
        status=row["status"],
        heartbeat_interval=row["heartbeat_interval"],
        started_at=row["started_at"],
        last_heartbeat=row["last_heartbeat"],
        life=row["life"],
        load=row["load"],
    )


_SELECT = """
SELECT s.*, (SELECT count(*) FROM assignments a
             WHERE a.subagent = s.name AND a.state IN ('assigned', 'running')) AS load
FROM subagents s
"""


class Registry:
    """The ``subagents`` table. ``missed_heartbeats`` beats of silence make a sub-agent dead."""

    def __init__(self, store: Store, *, missed_heartbeats: int = 3, clock: Clock = time.time):
        self.store = store
        self.missed_heartbeats = missed_heartbeats
        self.clock = clock

    async def register(
        self,
        name: str,
        capabilities: tuple[str, ...] | list[str],
        *,
        max_concurrent: int,
        heartbeat_interval: float,
        pid: int,
    ) -> int:
        """Add or revive ``name`` as live; returns its life number. A live name is refused."""
        now = self.clock()
        caps = ",".join(dict.fromkeys(c.strip() for c in capabilities if c.strip()))
        async with self.store.transaction() as conn:
            row = await one(
                conn,
                "SELECT status, life, host, pid, started_at FROM subagents WHERE name = ?",
                (name,),
            )
            if row is not None and row["status"] != "dead":
                stale = await self._is_silent(conn, name, now) or process_gone(
                    row["host"], row["pid"]
                )
                if not stale:
                    raise ValueError(f"a live sub-agent is already named {name!r}")
                await release_subagent_work(conn, name, now, reason="re-registered")
            life = (row["life"] + 1) if row is not None else 1
            await conn.execute(
                "INSERT OR REPLACE INTO subagents (name, pid, host, capabilities, max_concurrent,"
                " status, heartbeat_interval, started_at, last_heartbeat, life)"
                " VALUES (?, ?, ?, ?, ?, 'live', ?, ?, ?, ?)",
                (
                    name,
                    pid,
                    socket.gethostname(),
                    caps,
                    max_concurrent,
                    heartbeat_interval,
                    now,
                    now,
                    life,
                ),
            )
        return life

    async def _is_silent(self, conn: aiosqlite.Connection, name: str, now: float) -> bool:
        row = await one(
            conn, "SELECT last_heartbeat, heartbeat_interval FROM subagents WHERE name = ?", (name,)
        )
        return row is not None and now - row[0] > row[1] * self.missed_heartbeats

    async def heartbeat(self, name: str, life: int) -> str | None:
        """Beat; returns the status ("live"/"draining") or None when this life was declared dead."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE subagents SET last_heartbeat = ? WHERE name = ? AND life = ?"
                " AND status != 'dead'",
                (self.clock(), name, life),
            )
            if cursor.rowcount == 0:
                return None
            row = await one(conn, "SELECT status FROM subagents WHERE name = ?", (name,))
        status: str | None = row["status"]
        return status

    async def drain(self, name: str) -> bool:
        """Ask a live sub-agent to take no new work and exit when idle."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE subagents SET status = 'draining' WHERE name = ? AND status = 'live'",
                (name,),
            )
            return cursor.rowcount > 0

    async def unregister(self, name: str, life: int) -> None:
        """A clean exit: hand back any open work, then remove the row."""
        async with self.store.transaction() as conn:
            await release_subagent_work(conn, name, self.clock(), reason="worker stopped")
            await conn.execute("DELETE FROM subagents WHERE name = ? AND life = ?", (name, life))

    async def reap(self) -> list[str]:
        """Declare every silent sub-agent dead and hand its open work back. Returns their names."""
        now = self.clock()
        silent_sql = (
            "SELECT name FROM subagents WHERE status != 'dead'"
            " AND ? - last_heartbeat > heartbeat_interval * ?"
        )
        params = (now, self.missed_heartbeats)
        if not await all_rows(self.store.conn, silent_sql, params):
            return []
        async with self.store.transaction() as conn:
            rows = await all_rows(conn, silent_sql, params)
            names = [r["name"] for r in rows]
            for name in names:
                await conn.execute("UPDATE subagents SET status = 'dead' WHERE name = ?", (name,))
                await release_subagent_work(conn, name, now, reason="sub-agent dead")
        return names

    async def list(self) -> list[Subagent]:
        rows = await all_rows(self.store.conn, _SELECT + " ORDER BY s.name")
        return [_subagent(r) for r in rows]

    async def get(self, name: str) -> Subagent | None:
        row = await one(self.store.conn, _SELECT + " WHERE s.name = ?", (name,))
        return _subagent(row) if row else None

    async def forget_dead(self, older_than: float) -> int:
        """Remove dead rows whose last heartbeat is older than ``older_than`` seconds."""
        async with self.store.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM subagents WHERE status = 'dead' AND last_heartbeat < ?",
                (self.clock() - older_than,),
            )
            return cursor.rowcount


async def release_subagent_work(
    conn: aiosqlite.Connection, name: str, now: float, *, reason: str
) -> int:
    """Inside a transaction: ``name``'s assigned/running work back to pending, with a new lease."""
    cursor = await conn.execute(
        "UPDATE assignments SET state = 'pending', subagent = NULL, lease = lease + 1,"
        " assigned_at = NULL, started_at = NULL, error = ?"
        " WHERE subagent = ? AND state IN ('assigned', 'running')",
        (f"handed back: {reason}", name),
    )
    return cursor.rowcount


def process_gone(host: str, pid: int) -> bool:
    """Whether the sub-agent process ``pid`` on ``host`` has ended (only answerable for this host)."""
    if host != socket.gethostname() or pid <= 0:
        return False
    import psutil

    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
