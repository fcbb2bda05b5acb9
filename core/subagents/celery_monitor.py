"""Celery workers in the store: what the coordinator's inspections saw, for the pane and metrics.

:func:`record_workers` writes one inspection (every worker that answered is ``live``, every
other one ``gone``); :func:`celery_worker_stats` reads them back with the units each ran (from
``assignments``, where a Celery unit's ``subagent`` is the worker that ran it).
:class:`CeleryMonitor` is the runtime's side service that inspects every ``liveness_ttl``
seconds, so the pane stays current while no unit is being sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from controlroom.core.store import Store
from controlroom.core.subagents.sql import all_rows

log = logging.getLogger("controlroom.celery")


async def record_workers(store: Store, workers: dict[str, Any], *, now: float) -> None:
    """One inspection's answer (name -> ``CeleryWorker``) replaces the previous one."""
    async with store.transaction() as conn:
        for w in workers.values():
            await conn.execute(
                "INSERT INTO celery_workers (name, host, queues, active, processed, concurrency,"
                " pid, status, first_seen, last_seen)"
                " VALUES (?, ?, ?, coalesce(?, 0), ?, ?, ?, 'live', ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET host = excluded.host, queues = excluded.queues,"
                " active = CASE WHEN ? IS NULL THEN celery_workers.active ELSE excluded.active END,"
                " processed = excluded.processed, concurrency = excluded.concurrency,"
                " pid = excluded.pid, status = 'live', last_seen = excluded.last_seen",
                (w.name, w.host, ",".join(w.queues), w.active, w.processed, w.concurrency,
                 w.pid, now, now, w.active),
            )  # fmt: skip
        names = list(workers)
        marks = ",".join("?" * len(names))
        where = f" AND name NOT IN ({marks})" if names else ""
        await conn.execute(
            f"UPDATE celery_workers SET status = 'gone', active = 0 WHERE status = 'live'{where}",
            tuple(names),
        )


@dataclass(slots=True)
class CeleryWorkerStats:
    name: str
    host: str
    queues: tuple[str, ...]
    status: str  # live / gone
    active: int  # units running there: Celery's own count, or this coordinator's if higher
    concurrency: int | None
    processed: int
    done: int  # units of this coordinator it completed
    failed: int
    avg_duration_s: float | None
    last_seen: float


async def celery_worker_stats(store: Store) -> list[CeleryWorkerStats]:
    """Every Celery worker ever seen, live ones first."""
    rows = await all_rows(
        store.conn,
        "SELECT w.*, (SELECT count(*) FROM assignments a WHERE a.subagent = w.name"
        " AND a.state = 'running') AS running, (SELECT count(*) FROM assignments a WHERE a.subagent = w.name"
        " AND a.state = 'completed') AS done, (SELECT count(*) FROM assignments a"
        " WHERE a.subagent = w.name AND a.state = 'failed') AS failed,"
        " (SELECT avg(duration_s) FROM assignments a WHERE a.subagent = w.name"
        " AND a.state IN ('completed', 'failed')) AS avg"
        " FROM celery_workers w ORDER BY w.status = 'gone', w.name",
    )
    return [
        CeleryWorkerStats(
            r["name"],
            r["host"],
            tuple(q for q in r["queues"].split(",") if q),
            r["status"],
            r["active"],
            r["concurrency"],
            r["processed"],
            r["done"],
            r["failed"],
            r["avg"],
            r["last_seen"],
        )
        for r in rows
    ]


class CeleryMonitor:
    """A runtime service: inspect the Celery workers every ``liveness_ttl`` seconds."""

    name = "celery-monitor"

    def __init__(self, executor: Any) -> None:
        self.executor = executor

    async def run(self) -> None:
        while True:
            try:
                await self.executor.consumers(fresh=True, with_active=True)
            except Exception:  # never raises for one bad cycle
                log.warning("celery inspection failed", exc_info=True)
            await asyncio.sleep(self.executor.celery.liveness_ttl)
