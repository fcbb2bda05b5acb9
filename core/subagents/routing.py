"""Routing pending assignments: only live sub-agents with the capability, least loaded first,
never above a sub-agent's ``max_concurrent``.

Any process may route (the core when it submits, every worker when it polls): routing is one
``BEGIN IMMEDIATE`` transaction over the store, so two routers never assign one row twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiosqlite

from controlroom.core.subagents.sql import all_rows

ROUTE_BATCH = 500


@dataclass(slots=True)
class Candidate:
    name: str
    capabilities: frozenset[str]
    max_concurrent: int
    load: int
    last_assigned_at: float

    @property
    def free(self) -> int:
        return self.max_concurrent - self.load

    def sort_key(self) -> tuple[int, float, float, str]:
        # Least loaded first; ties go to the emptier (relative) and then the longest waiting.
        return (self.load, self.load / self.max_concurrent, self.last_assigned_at, self.name)


@dataclass(slots=True)
class RouteReport:
    assigned: dict[int, str] = field(default_factory=dict)  # assignment id -> sub-agent
    waiting: int = 0  # pending rows with a capable live sub-agent, all of them full


def _live_clause() -> str:
    return "status = 'live' AND ? - last_heartbeat <= heartbeat_interval * ?"


async def live_candidates(
    conn: aiosqlite.Connection, now: float, missed_heartbeats: int
) -> list[Candidate]:
    """Live, not draining, not silent sub-agents with their current load."""
    rows = await all_rows(
        conn,
        "SELECT s.name, s.capabilities, s.max_concurrent, s.last_assigned_at,"
        " (SELECT count(*) FROM assignments a WHERE a.subagent = s.name"
        "  AND a.state IN ('assigned', 'running')) AS load"
        f" FROM subagents s WHERE {_live_clause()}",
        (now, missed_heartbeats),
    )
    return [
        Candidate(
            r["name"],
            frozenset(c for c in r["capabilities"].split(",") if c),
            r["max_concurrent"],
            r["load"],
            r["last_assigned_at"],
        )
        for r in rows
    ]


def choose(candidates: list[Candidate], capability: str) -> Candidate | None:
    """The least-loaded live candidate offering ``capability`` with a free slot, or None."""
    fitting = [c for c in candidates if capability in c.capabilities and c.free > 0]
    return min(fitting, key=Candidate.sort_key) if fitting else None


async def route_pending(
    conn: aiosqlite.Connection, now: float, missed_heartbeats: int
) -> RouteReport:
    """Inside a write transaction: assign as many pending rows as free slots allow, oldest first."""
    report = RouteReport()
    candidates = await live_candidates(conn, now, missed_heartbeats)
    if not any(c.free > 0 for c in candidates):
        return report
    offered = set().union(*(c.capabilities for c in candidates)) if candidates else set()
    if not offered:
        return report
    marks = ",".join("?" * len(offered))
    rows = await all_rows(
        conn,
        f"SELECT id, capability FROM assignments WHERE state = 'pending'"
        f" AND capability IN ({marks}) ORDER BY id LIMIT ?",
        (*sorted(offered), ROUTE_BATCH),
    )
    touched: dict[str, Candidate] = {}
    for row in rows:
        chosen = choose(candidates, row["capability"])
        if chosen is None:
            report.waiting += 1
            continue
        await conn.execute(
            "UPDATE assignments SET state = 'assigned', subagent = ?, lease = lease + 1,"
            " attempts = attempts + 1, assigned_at = ? WHERE id = ? AND state = 'pending'",
            (chosen.name, now, row["id"]),
        )
        chosen.load += 1
        chosen.last_assigned_at = now
        touched[chosen.name] = chosen
        report.assigned[row["id"]] = chosen.name
    for name in touched:
        await conn.execute("UPDATE subagents SET last_assigned_at = ? WHERE name = ?", (now, name))
    return report


async def has_capable_live(
    conn: aiosqlite.Connection, capability: str, now: float, missed_heartbeats: int
) -> bool:
    """Is there a live sub-agent that offers ``capability`` (busy or not)?"""
    return any(
        capability in c.capabilities for c in await live_candidates(conn, now, missed_heartbeats)
    )
