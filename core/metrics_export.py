"""Prometheus export of the store: a custom collector that reads the store on every scrape.

``serve_metrics(db_path, host, port)`` serves ``/metrics`` (127.0.0.1 unless told otherwise);
``metrics_snapshot(store)`` is the same data as a JSON-ready dict (``controlroom metrics --json``).
SLA and LLM series appear only when their tables exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from controlroom.core.statedir import write_private
from controlroom.core.store import Store
from controlroom.core.subagents.hobbies import hobby_statuses
from controlroom.core.subagents.settings import HobbySettings
from controlroom.core.subagents.sql import all_rows

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
JSON_CACHE_SECONDS = 10.0


async def _tables(store: Store) -> set[str]:
    rows = await all_rows(store.conn, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows}


async def _pairs(store: Store, sql: str) -> dict[str, Any]:
    return {str(r[0]): r[1] for r in await all_rows(store.conn, sql)}


async def metrics_snapshot(store: Store, *, hobbies: HobbySettings | None = None) -> dict[str, Any]:
    """Everything the exporter publishes, as plain data."""
    tables = await _tables(store)
    snap: dict[str, Any] = {"generated_at": time.time()}
    snap["tasks_by_state"] = await _pairs(store, "SELECT state, count(*) FROM tasks GROUP BY state")
    snap["findings_by_agent"] = await _pairs(
        store, "SELECT agent, count(*) FROM findings GROUP BY agent"
    )
    durations: dict[str, dict[str, Any]] = {}
    bucket_sql = ", ".join(f"sum(duration_s <= {b})" for b in DURATION_BUCKETS)
    for row in await all_rows(
        store.conn,
        f"SELECT agent, count(*), sum(duration_s), {bucket_sql} FROM agent_runs GROUP BY agent",
    ):
        durations[row[0]] = {
            "count": row[1],
            "sum": row[2] or 0.0,
            "buckets": {str(b): row[3 + i] or 0 for i, b in enumerate(DURATION_BUCKETS)},
        }
    snap["agent_run_durations"] = durations
    if "assignments" in tables:
        snap["assignments_by_state"] = await _pairs(
            store, "SELECT state, count(*) FROM assignments GROUP BY state"
        )
        snap["subagents"] = [
            {
                "name": r["name"],
                "status": r["status"],
                "load": r["load"],
                "max_concurrent": r["max_concurrent"],
            }
            for r in await all_rows(
                store.conn,
                "SELECT s.name, s.status, s.max_concurrent, (SELECT count(*) FROM assignments a"
                " WHERE a.subagent = s.name AND a.state IN ('assigned', 'running')) AS load"
                " FROM subagents s ORDER BY s.name",
            )
        ]
        settings = hobbies or HobbySettings()
        snap["hobby_proficiency"] = {
            s.hobby: round(s.proficiency.score, 4) for s in await hobby_statuses(store, settings)
        }
    if "celery_workers" in tables:
        from controlroom.core.subagents.celery_monitor import celery_worker_stats

        snap["celery_workers"] = [
            {
                "name": w.name, "host": w.host, "queues": list(w.queues), "status": w.status,
                "active": w.active, "concurrency": w.concurrency, "processed": w.processed,
                "done": w.done, "failed": w.failed, "last_seen": w.last_seen,
            }
            for w in await celery_worker_stats(store)
        ]  # fmt: skip
    if {"sla_check_state", "sla_results"} <= tables:
        since = time.time() - 86_400
        snap["sla"] = [
            {"check": r[0], "violated": r[1] == "violated", "compliance_24h": r[2]}
            for r in await all_rows(
                store.conn,
                "SELECT c.check_name, c.state, (SELECT avg(ok) FROM sla_results r WHERE"
                f" r.check_name = c.check_name AND r.ok IS NOT NULL AND r.in_maintenance = 0"
                f" AND r.at >= {since}) FROM sla_check_state c ORDER BY c.check_name",
            )
        ]
    if "llm_calls" in tables:
        snap["llm"] = [
            {
                "tier": r[0] or "unknown",
                "agent": r[1],
                "input_tokens": r[2] or 0,
                "output_tokens": r[3] or 0,
                "cost_usd": r[4] or 0.0,
            }
            for r in await all_rows(
                store.conn,
                "SELECT tier, agent, sum(input_tokens + cache_read_tokens + cache_write_tokens),"
                " sum(output_tokens), sum(coalesce(cost_usd, 0)) FROM llm_calls"
                " GROUP BY tier, agent ORDER BY tier, agent",
            )
        ]
    return snap


def families(snap: dict[str, Any]) -> Iterator[Any]:
    """Prometheus metric families from a snapshot."""
    g = GaugeMetricFamily("controlroom_tasks", "Tasks in the queue by state", labels=["state"])
    for state, n in sorted(snap["tasks_by_state"].items()):
        g.add_metric([state], n)
    yield g
    c = CounterMetricFamily("controlroom_findings", "Findings recorded by agent", labels=["agent"])
    for agent, n in sorted(snap["findings_by_agent"].items()):
        c.add_metric([agent], n)
    yield c
    h = HistogramMetricFamily(
        "controlroom_agent_run_duration_seconds", "Agent run durations", labels=["agent"]
    )
    for agent, d in sorted(snap["agent_run_durations"].items()):
        buckets = [(b, float(n)) for b, n in d["buckets"].items()]
        h.add_metric([agent], [*buckets, ("+Inf", float(d["count"]))], d["sum"])
    yield h
    if "assignments_by_state" in snap:
        g = GaugeMetricFamily("controlroom_assignments", "Assignments by state", labels=["state"])
        for state, n in sorted(snap["assignments_by_state"].items()):
            g.add_metric([state], n)
        yield g
        load = GaugeMetricFamily(
            "controlroom_subagent_load", "Units running on a sub-agent", labels=["subagent"]
        )
        limit = GaugeMetricFamily(
            "controlroom_subagent_max_concurrent", "A sub-agent's limit", labels=["subagent"]
        )
        up = GaugeMetricFamily(
            "controlroom_subagent_live", "1 when the sub-agent is live", labels=["subagent"]
        )
        for s in snap["subagents"]:
            load.add_metric([s["name"]], s["load"])
            limit.add_metric([s["name"]], s["max_concurrent"])
            up.add_metric([s["name"]], 1 if s["status"] == "live" else 0)
        yield from (load, limit, up)
        p = GaugeMetricFamily(
            "controlroom_hobby_proficiency", "Hobby proficiency, 0..1", labels=["hobby"]
        )
        for hobby, score in sorted(snap["hobby_proficiency"].items()):
            p.add_metric([hobby], score)
        yield p
    if snap.get("celery_workers"):
        labels = ["worker", "host"]
        up = GaugeMetricFamily(
            "controlroom_celery_worker_live", "1 when it answered", labels=labels
        )
        active = GaugeMetricFamily(
            "controlroom_celery_worker_active", "Units running on a Celery worker", labels=labels
        )
        done = CounterMetricFamily(
            "controlroom_celery_worker_units", "Units a Celery worker finished",
            labels=[*labels, "outcome"],
        )  # fmt: skip
        for w in snap["celery_workers"]:
            key = [w["name"], w["host"]]
            up.add_metric(key, 1 if w["status"] == "live" else 0)
            active.add_metric(key, w["active"])
            done.add_metric([*key, "completed"], w["done"])
            done.add_metric([*key, "failed"], w["failed"])
        yield from (up, active, done)
    if "sla" in snap:
        v = GaugeMetricFamily("controlroom_sla_violated", "1 when violated", labels=["check"])
        comp = GaugeMetricFamily(
            "controlroom_sla_compliance_ratio", "Met samples over 24 h", labels=["check"]
        )
        for item in snap["sla"]:
            v.add_metric([item["check"]], 1 if item["violated"] else 0)
            if item["compliance_24h"] is not None:
                comp.add_metric([item["check"]], item["compliance_24h"])
        yield from (v, comp)
    if "llm" in snap:
        tok = CounterMetricFamily(
            "controlroom_llm_tokens", "LLM tokens", labels=["tier", "agent", "direction"]
        )
        cost = CounterMetricFamily("controlroom_llm_cost_usd", "LLM cost", labels=["tier", "agent"])
        for item in snap["llm"]:
            tok.add_metric([item["tier"], item["agent"], "input"], item["input_tokens"])
            tok.add_metric([item["tier"], item["agent"], "output"], item["output_tokens"])
            cost.add_metric([item["tier"], item["agent"]], item["cost_usd"])
        yield from (tok, cost)


async def snapshot_of(db_path: Path) -> dict[str, Any]:
    store = await Store.open(db_path)
    try:
        return await metrics_snapshot(store)
    finally:
        await store.close()


class StoreCollector(Collector):
    """Reads the store at every scrape (in the HTTP server's thread, with its own connection)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def collect(self) -> Iterator[Any]:
        yield from families(asyncio.run(snapshot_of(self.db_path)))


def build_registry(db_path: Path) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(db_path))
    return registry


def serve_metrics(db_path: Path, host: str = "127.0.0.1", port: int = 9464) -> Any:
    """Start the HTTP server in a thread; returns (server, thread). ``port=0`` picks one."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=build_registry(db_path))


def cached_snapshot_json(db_path: Path, cache_file: Path, *, now: float | None = None) -> str:
    """The JSON snapshot, reused from ``cache_file`` when it is under 10 s old for this store."""
    now = time.time() if now is None else now
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        if cached["db"] == str(db_path) and now - cached["at"] < JSON_CACHE_SECONDS:
            return json.dumps(cached["snapshot"], indent=2, sort_keys=True)
    except (OSError, ValueError, KeyError):
        pass
    snap = asyncio.run(snapshot_of(db_path))
    with contextlib.suppress(OSError):  # a link planted as the cache is refused, not followed
        payload = json.dumps({"db": str(db_path), "at": now, "snapshot": snap})
        write_private(cache_file, payload.encode("utf-8"))
    return json.dumps(snap, indent=2, sort_keys=True)
