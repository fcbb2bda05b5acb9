"""The SLA pane's data: one row per check (grouped), one cell per hourly or daily bucket."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from controlroom.core.sla.compliance import CELL_MARKS, Compliance, cell_state
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.monitor import SlaSettings
from controlroom.core.sla.results import DAY, HOUR, bucket_of

MODES = {"hourly": ("sla_rollups_hourly", HOUR), "daily": ("sla_rollups_daily", DAY)}


class HeatCell(NamedTuple):
    start: float
    count: int  # type: ignore[assignment]  # a field named like tuple.count: part of the API
    violations: int
    pct: float | None
    state: str  # met / at_risk / violated / no_data

    @property
    def mark(self) -> str:
        return CELL_MARKS[self.state]


@dataclass
class HeatRow:
    check: CheckDef
    cells: list[HeatCell]
    compliance: dict[str, float | None]
    last_at: float | None = None
    last_status: str | None = None
    last_value: float | None = None
    last_message: str = ""
    alert_state: str = "ok"
    acked: bool = False

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def status(self) -> str:
        """ok / violated / error / timeout / overran / alerting / no data, for the status column."""
        if self.last_status is None:
            return "no data"
        if self.alert_state == "violated":
            return "ALERT(ack)" if self.acked else "ALERT"
        return self.last_status


@dataclass
class Heatmap:
    mode: str
    bucket_starts: list[float]
    rows: list[HeatRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


async def _buckets(store: Any, table: str, since: int) -> dict[str, dict[int, tuple[int, int]]]:
    """``{check: {bucket: (count, violations)}}`` for buckets from ``since`` on."""
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for name, bucket, count, violations in await store.fetchall(
        f"SELECT check_name, bucket, count, violations FROM {table} WHERE bucket >= ?", (since,)
    ):
        out.setdefault(name, {})[bucket] = (count, violations)
    return out


def _pct(pairs: Any) -> float | None:
    count = violations = 0
    for c, v in pairs:
        count += c
        violations += v
    return Compliance(count, violations).pct


_cached: tuple[Any, SlaSettings] | None = None


def _settings(config: Any) -> SlaSettings:
    """Parsed once per config object (the pane refreshes often with the same one)."""
    global _cached
    if _cached is None or _cached[0] is not config:
        _cached = (config, SlaSettings.from_config(config))
    return _cached[1]


def _grouped(checks: tuple[CheckDef, ...]) -> list[CheckDef]:
    order: dict[str, int] = {}
    for check in checks:
        order.setdefault(check.group, len(order))
    return sorted(checks, key=lambda c: order[c.group])


async def heatmap(
    store: Any,
    config: Any,
    *,
    now: float | None = None,
    mode: str = "hourly",
    buckets: int = 24,
    settings: SlaSettings | None = None,
) -> Heatmap:
    """Rows for every configured check (grouped, config order), ``buckets`` cells ending with the
    current hour (``mode="hourly"``) or UTC day (``"daily"``), plus current value and compliance."""
    now = time.time() if now is None else now
    settings = settings or _settings(config)
    table, size = MODES[mode]
    last = bucket_of(now, size)
    starts = [float(last - (buckets - 1 - i) * size) for i in range(buckets)]
    result = Heatmap(mode, starts)
    if not settings.checks:
        return result
    hour, day = bucket_of(now, HOUR), bucket_of(now, DAY)
    hourly = await _buckets(store, "sla_rollups_hourly", hour - 23 * HOUR)
    daily = await _buckets(store, "sla_rollups_daily", day - 29 * DAY)
    cells, covered = (hourly, hour - 23 * HOUR) if mode == "hourly" else (daily, day - 29 * DAY)
    if starts[0] < covered:  # a longer view than the compliance windows read
        cells = await _buckets(store, table, int(starts[0]))
    week = day - 6 * DAY
    states = {
        row["check_name"]: row for row in await store.fetchall("SELECT * FROM sla_check_state")
    }
    int_starts = [int(start) for start in starts]
    for check in _grouped(settings.checks):
        target = check.target
        mine = cells.get(check.name, {})
        row_cells = []
        for start in int_starts:
            count, violations = mine.get(start, (0, 0))
            pct = 100.0 * (count - violations) / count if count else None
            row_cells.append(HeatCell(start, count, violations, pct, cell_state(pct, target)))
        days = daily.get(check.name, {})
        compliance = {
            "24h": _pct(hourly.get(check.name, {}).values()),
            "7d": _pct(v for b, v in days.items() if b >= week),
            "30d": _pct(days.values()),
        }
        heat = HeatRow(check, row_cells, compliance)
        state = states.get(check.name)
        if state is not None:
            heat.last_at, heat.last_status = state["last_at"], state["last_status"]
            heat.last_value, heat.last_message = state["last_value"], state["last_message"] or ""
            heat.alert_state, heat.acked = state["state"], state["acked_at"] is not None
        result.rows.append(heat)
    return result
