"""Per-sub-agent figures: completed, failed, success rate, average duration, current load.

Store workers come from the registry; Celery workers from the coordinator's last inspection
(``celery_workers``): their capabilities start with "celery", their status is live or gone,
their heartbeat is when they last answered."""

from __future__ import annotations

from dataclasses import dataclass

from controlroom.core.store import Store
from controlroom.core.subagents.celery_monitor import celery_worker_stats
from controlroom.core.subagents.registry import Registry
from controlroom.core.subagents.sql import all_rows
from controlroom.core.subagents.units import LOCAL


@dataclass(slots=True)
class SubagentStats:
    name: str  # a worker's name, or "local"
    capabilities: tuple[str, ...]
    status: str  # live / draining / dead / local
    load: int
    max_concurrent: int | None
    completed: int
    failed: int
    avg_duration_s: float | None
    last_heartbeat: float | None

    @property
    def success_rate(self) -> float | None:
        done = self.completed + self.failed
        return self.completed / done if done else None


async def subagent_stats(store: Store, *, missed_heartbeats: int = 3) -> list[SubagentStats]:
    """Every registered sub-agent, plus "local" when the core ran work itself."""
    totals = {
        r["subagent"]: r
        for r in await all_rows(
            store.conn,
            "SELECT subagent, sum(state = 'completed') AS completed, sum(state = 'failed') AS"
            " failed, avg(CASE WHEN state IN ('completed', 'failed') THEN duration_s END) AS avg,"
            " sum(state IN ('assigned', 'running')) AS load"
            " FROM assignments WHERE subagent IS NOT NULL GROUP BY subagent",
        )
    }
    found = []
    for sub in await Registry(store, missed_heartbeats=missed_heartbeats).list():
        row = totals.get(sub.name)
        found.append(
            SubagentStats(
                sub.name, sub.capabilities, sub.status, sub.load, sub.max_concurrent,
                row["completed"] if row else 0, row["failed"] if row else 0,
                row["avg"] if row else None, sub.last_heartbeat,
            )
        )  # fmt: skip
    for w in await celery_worker_stats(store):  # Celery workers, as the coordinator saw them
        prefix = "controlroom."
        caps = tuple(q.removeprefix(prefix) for q in w.queues)
        found.append(
            SubagentStats(
                w.name, ("celery", *caps), w.status, w.active, w.concurrency, w.done, w.failed,
                w.avg_duration_s, w.last_seen,
            )
        )  # fmt: skip
    local = totals.get(LOCAL)
    if local is not None:
        found.append(
            SubagentStats(
                LOCAL, (), "local", local["load"], None, local["completed"], local["failed"],
                local["avg"], None,
            )
        )  # fmt: skip
    return found
