"""Compliance per check over 24 h, 7 d and 30 d, and the verdict of a heatmap cell.

Compliance is the share of measured runs that met the check, among runs outside maintenance
windows. Time the monitor was not running has no runs, so it shows as "no data", never as a
violation. Windows are aligned to rollup buckets: 24 h = the last 24 UTC hours (the current one
included), 7 d and 30 d = the last 7 or 30 UTC days (today included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from controlroom.core.sla.results import DAY, HOUR, bucket_of

WINDOWS = ("24h", "7d", "30d")
CELL_STATES = ("met", "at_risk", "violated", "no_data")
# One character per state, so the heatmap reads without colour (NO_COLOR).
CELL_MARKS = {"met": "+", "at_risk": "~", "violated": "X", "no_data": "."}


@dataclass(frozen=True)
class Compliance:
    count: int = 0
    violations: int = 0

    @property
    def pct(self) -> float | None:
        return None if self.count == 0 else 100.0 * (self.count - self.violations) / self.count


def cell_state(pct: float | None, target: float) -> str:
    """met: at or above target with at least half the error budget left; at_risk: at or above
    target but more than half the budget used; violated: below target; no_data: no runs."""
    if pct is None:
        return "no_data"
    if pct < target:
        return "violated"
    return "met" if pct >= target + (100.0 - target) / 2 else "at_risk"


def window_starts(now: float) -> dict[str, tuple[str, int]]:
    """Each window's rollup table and first bucket."""
    hour, day = bucket_of(now, HOUR), bucket_of(now, DAY)
    return {
        "24h": ("sla_rollups_hourly", hour - 23 * HOUR),
        "7d": ("sla_rollups_daily", day - 6 * DAY),
        "30d": ("sla_rollups_daily", day - 29 * DAY),
    }


async def compliance_by_check(
    store: Any, now: float, names: Iterable[str] | None = None
) -> dict[str, dict[str, Compliance]]:
    """``{check: {"24h": Compliance, "7d": ..., "30d": ...}}`` for every check with data."""
    starts = window_starts(now)
    out: dict[str, dict[str, Compliance]] = {}
    hourly = await store.fetchall(
        "SELECT check_name, SUM(count), SUM(violations) FROM sla_rollups_hourly"
        " WHERE bucket >= ? GROUP BY check_name",
        (starts["24h"][1],),
    )
    for name, count, violations in hourly:
        out.setdefault(name, {})["24h"] = Compliance(count or 0, violations or 0)
    week, month = starts["7d"][1], starts["30d"][1]
    daily = await store.fetchall(
        "SELECT check_name,"
        " SUM(CASE WHEN bucket >= ? THEN count END), SUM(CASE WHEN bucket >= ? THEN violations END),"
        " SUM(count), SUM(violations)"
        " FROM sla_rollups_daily WHERE bucket >= ? GROUP BY check_name",
        (week, week, month),
    )
    for name, week_count, week_violations, count, violations in daily:
        entry = out.setdefault(name, {})
        entry["7d"] = Compliance(week_count or 0, week_violations or 0)
        entry["30d"] = Compliance(count or 0, violations or 0)
    wanted = None if names is None else set(names)
    for name in list(out):
        if wanted is not None and name not in wanted:
            del out[name]
            continue
        for window in WINDOWS:
            out[name].setdefault(window, Compliance())
    return out
