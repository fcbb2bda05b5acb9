"""Rollups, pruning, compliance, the heatmap query, the gate and the run-once summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controlroom.core.errors import ConfigError
from controlroom.core.sla import gate, heatmap, sla_summary
from controlroom.core.sla.checks import CheckResult
from controlroom.core.sla.compliance import cell_state
from controlroom.core.sla.monitor import SlaMonitor, SlaSettings
from controlroom.core.sla.results import DAY, HOUR, bucket_of, prune
from tests.unit.sla_support import Clock, sla_config

CONFIG = """
[sla]
gate = ["exports"]

[[sla.checks]]
name = "exports"
kind = "file_age"
group = "pipelines"
path = "out/*.csv"
max_age = 600
severity = "critical"

[[sla.checks]]
name = "disk"
kind = "disk"
group = "hosts"
max_pct = 100

[[sla.checks]]
name = "api"
kind = "disk"
group = "pipelines"
max_pct = 100
"""
NOW = 1_800_000_000.0 + 1800  # 08:30 UTC


async def seed(monitor: SlaMonitor, name: str, at: float, ok: bool, value: float) -> None:
    check = monitor.settings.check(name)
    status = "ok" if ok else "violated"
    await monitor.record(check, CheckResult(name, at, status, value, 600.0, 0.0, status))


async def test_rollups_keep_count_violations_min_avg_max(tmp_path: Path, store) -> None:
    monitor = SlaMonitor(
        store, SlaSettings.from_config(sla_config(tmp_path, CONFIG)), clock=Clock()
    )
    hour = bucket_of(NOW, HOUR)
    for offset, ok, value in (
        (0, True, 10.0),
        (60, False, 900.0),
        (120, True, 5.0),
        (HOUR, True, 1.0),
    ):
        await seed(monitor, "exports", hour + offset, ok, value)
    row = await store.fetchone("SELECT * FROM sla_rollups_hourly WHERE bucket = ?", (hour,))
    assert (row["count"], row["violations"], row["value_min"], row["value_max"]) == (
        3,
        1,
        5.0,
        900.0,
    )
    assert row["value_sum"] / row["value_count"] == pytest.approx(305.0)
    day = await store.fetchone("SELECT count, violations FROM sla_rollups_daily")
    assert tuple(day) == (4, 1)
    removed = await prune(store, now=hour + 31 * DAY, retention_days=30)
    assert removed["results"] == 4
    assert await store.fetchval("SELECT count(*) FROM sla_rollups_daily") == 1  # rollups stay


def test_cell_states() -> None:
    assert cell_state(None, 95) == "no_data"
    assert cell_state(100, 95) == "met" and cell_state(97.5, 95) == "met"
    assert cell_state(96, 95) == "at_risk" and cell_state(94.9, 95) == "violated"


async def test_heatmap_rows_cells_gaps_and_compliance(tmp_path: Path, store) -> None:
    config = sla_config(tmp_path, CONFIG)
    monitor = SlaMonitor(store, SlaSettings.from_config(config), clock=Clock())
    hour = bucket_of(NOW, HOUR)
    for minute in range(20):  # this hour: 20 runs, 1 violation -> 95 %: at risk
        await seed(monitor, "exports", hour + minute * 60, minute != 5, 30.0)
    for minute in range(10):  # two hours ago: all bad; the hour between is a gap (no data)
        await seed(monitor, "exports", hour - 2 * HOUR + minute * 60, False, 900.0)
    await seed(monitor, "exports", hour - 3 * DAY, True, 1.0)  # three days ago
    result = await heatmap(store, config, now=NOW)
    assert [r.name for r in result.rows] == ["exports", "api", "disk"]  # grouped, config order
    exports = result.rows[0]
    assert len(exports.cells) == 24 and result.bucket_starts[-1] == hour
    assert [c.state for c in exports.cells[-3:]] == ["violated", "no_data", "at_risk"]
    assert "".join(c.mark for c in exports.cells[-3:]) == "X.~"
    assert exports.compliance["24h"] == pytest.approx(100 * 19 / 30)
    assert exports.compliance["7d"] == pytest.approx(100 * 20 / 31)
    assert (
        exports.last_status == "ok" and exports.status == "ALERT"
    )  # 10 failures alerted, not yet 2 ok
    assert result.rows[1].status == "no data" and result.rows[1].compliance["24h"] is None
    daily = await heatmap(store, config, now=NOW, mode="daily", buckets=7)
    assert [c.state for c in daily.rows[0].cells][-4:] == ["met", "no_data", "no_data", "violated"]
    empty = await heatmap(store, sla_config(tmp_path, "", name="empty.toml"), now=NOW)
    assert empty.empty


async def test_gate_and_summary(tmp_path: Path, store) -> None:
    config = sla_config(tmp_path, CONFIG)
    clock = Clock(NOW)
    (tmp_path / "out").mkdir()
    export = tmp_path / "out" / "orders.csv"
    export.write_text("x")
    os.utime(export, (NOW - 60, NOW - 60))
    passed = await gate(store, config, NOW, base_dir=tmp_path)
    assert passed.ok and passed.checked == ["exports"] and passed.warning is None
    os.utime(export, (NOW - 3600, NOW - 3600))
    failed = await gate(store, config, NOW, base_dir=tmp_path)
    assert not failed.ok
    assert failed.warning == "analysis ran on stale data: SLA violated: exports"
    assert failed.violated[0]["status"] == "violated"
    event = await store.fetchone("SELECT kind, payload_json FROM events WHERE kind = 'sla.gate'")
    assert event is not None and "stale data" in event["payload_json"]
    stored = await gate(store, config, NOW, fresh=False)  # reads the latest stored result
    assert not stored.ok
    summary = await sla_summary(store, config, now=clock.now)
    assert (summary["checks"], summary["violated"], summary["no_data"]) == (3, 1, 2)
    assert summary["critical_violations"] == 1
    item = summary["items"][0]
    assert item["name"] == "exports" and item["compliance"]["24h"] == pytest.approx(50.0)
    bad = sla_config(
        tmp_path, CONFIG.replace('gate = ["exports"]', 'gate = ["nope"]'), name="b.toml"
    )
    with pytest.raises(ConfigError, match=r"sla\.gate names unknown SLA checks: nope"):
        await gate(store, bad, NOW)
