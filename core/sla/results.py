"""Raw SLA results, their hourly and daily rollups (kept current on every insert) and pruning."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from controlroom.core.secrets import redact
from controlroom.core.sla.alerts import AlertState
from controlroom.core.sla.checks.base import CheckResult

HOUR = 3600
DAY = 86400

_ROLLUP_UPSERT = """
INSERT INTO {table} (check_name, bucket, count, violations, maint_count, value_count, value_sum,
                     value_min, value_max)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (check_name, bucket) DO UPDATE SET
    count = count + excluded.count,
    violations = violations + excluded.violations,
    maint_count = maint_count + excluded.maint_count,
    value_count = value_count + excluded.value_count,
    value_sum = value_sum + excluded.value_sum,
    value_min = min(coalesce(value_min, excluded.value_min), coalesce(excluded.value_min, value_min)),
    value_max = max(coalesce(value_max, excluded.value_max), coalesce(excluded.value_max, value_max))
"""


def bucket_of(at: float, size: int) -> int:
    return int(at // size) * size


async def insert_result(conn: Any, result: CheckResult) -> None:
    """Store one result and fold it into its hourly and daily rollups (inside a transaction)."""
    ok = None if not result.is_measurement else int(result.ok)
    await conn.execute(
        "INSERT INTO sla_results (check_name, at, status, ok, value, threshold, duration_s, message,"
        " in_maintenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            result.check_name,
            result.at,
            result.status,
            ok,
            result.value,
            result.threshold,
            result.duration_s,
            redact(result.message),
            int(result.in_maintenance),
        ),
    )
    if not result.is_measurement:
        return
    counted = not result.in_maintenance
    row = (
        int(counted),
        int(counted and not result.ok),
        int(result.in_maintenance),
        int(result.value is not None),
        result.value or 0.0,
        result.value,
        result.value,
    )
    for table, size in (("sla_rollups_hourly", HOUR), ("sla_rollups_daily", DAY)):
        await conn.execute(
            _ROLLUP_UPSERT.format(table=table),
            (result.check_name, bucket_of(result.at, size), *row),
        )


async def save_state(conn: Any, state: AlertState, result: CheckResult | None) -> None:
    """Upsert the check's row: its alert state and (when given) its latest result."""
    last = (
        (result.at, result.status, result.value, result.threshold, redact(result.message))
        if result is not None
        else (None,) * 5
    )
    await conn.execute(
        """INSERT INTO sla_check_state (check_name, last_at, last_status, last_value,
               last_threshold, last_message, state, consecutive_failures, consecutive_successes,
               since, notified, last_notified_at, acked_at, acked_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (check_name) DO UPDATE SET
               last_at = coalesce(excluded.last_at, last_at),
               last_status = coalesce(excluded.last_status, last_status),
               last_value = CASE WHEN excluded.last_at IS NULL THEN last_value
                                 ELSE excluded.last_value END,
               last_threshold = coalesce(excluded.last_threshold, last_threshold),
               last_message = coalesce(excluded.last_message, last_message),
               state = excluded.state,
               consecutive_failures = excluded.consecutive_failures,
               consecutive_successes = excluded.consecutive_successes,
               since = excluded.since, notified = excluded.notified,
               last_notified_at = excluded.last_notified_at,
               acked_at = excluded.acked_at, acked_by = excluded.acked_by""",
        (
            state.check_name,
            *last,
            state.state,
            state.consecutive_failures,
            state.consecutive_successes,
            state.since,
            int(state.notified),
            state.last_notified_at,
            state.acked_at,
            state.acked_by,
        ),
    )


@dataclass(frozen=True)
class HistoryPoint:
    at: float
    status: str
    value: float | None
    threshold: float | None
    in_maintenance: bool


async def history(store: Any, name: str, *, since: float, limit: int = 5000) -> list[HistoryPoint]:
    """Raw results of one check since ``since``, oldest first (for the history chart)."""
    rows = await store.fetchall(
        "SELECT at, status, value, threshold, in_maintenance FROM ("
        " SELECT * FROM sla_results WHERE check_name = ? AND at >= ? ORDER BY at DESC LIMIT ?"
        ") ORDER BY at",
        (name, since, limit),
    )
    return [HistoryPoint(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


async def latest(store: Any) -> dict[str, sqlite3.Row]:
    """Each check's row of ``sla_check_state`` (latest result and alert state), by name."""
    rows = await store.fetchall("SELECT * FROM sla_check_state")
    return {row["check_name"]: row for row in rows}


async def prune(
    store: Any, *, now: float, retention_days: float, rollup_retention_days: float = 400
) -> dict[str, int]:
    """Delete raw results older than the retention, hourly rollups older than the retention
    (at least 31 days, for the 30-day view), daily rollups older than ``rollup_retention_days``."""
    raw_cut = now - retention_days * DAY
    hourly_cut = now - max(retention_days, 31) * DAY
    daily_cut = now - max(rollup_retention_days, 31) * DAY
    removed = {}
    async with store.transaction() as conn:
        for key, sql, cut in (
            ("results", "DELETE FROM sla_results WHERE at < ?", raw_cut),
            ("hourly", "DELETE FROM sla_rollups_hourly WHERE bucket < ?", hourly_cut),
            ("daily", "DELETE FROM sla_rollups_daily WHERE bucket < ?", daily_cut),
            ("alerts", "DELETE FROM sla_alerts WHERE at < ?", daily_cut),
            ("monitor", "DELETE FROM sla_monitor_runs WHERE last_beat < ?", daily_cut),
        ):
            cursor = await conn.execute(sql, (cut,))
            removed[key] = cursor.rowcount
    return removed
