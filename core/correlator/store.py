"""Persistence of the correlator (tables of migration 0005) and the queries the TUI reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from controlroom.core.correlator.predictor import PatternStats
from controlroom.core.correlator.scoring import ImpactLevel, ImpactResult, MetricDelta
from controlroom.core.correlator.snapshot import Snapshot
from controlroom.core.store import Store


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    commit_sha: str
    level: ImpactLevel
    reason: str
    at: float
    notified: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "commit": self.commit_sha,
            "level": self.level.value,
            "reason": self.reason,
            "at": self.at,
            "notified": self.notified,
        }


@dataclass(frozen=True, slots=True)
class ImpactSummary:
    """One commit's impact for a table cell: measured (level) or only a baseline so far."""

    commit_sha: str
    measured: bool
    level: ImpactLevel | None
    within_noise: bool
    summary: str
    alert_triggered: bool

    @property
    def label(self) -> str:
        """``high``, ``none (noise)``, ``pending`` (baseline taken, no delta yet)."""
        if not self.measured or self.level is None:
            return "pending"
        if self.level is ImpactLevel.NONE and self.within_noise:
            return "none (noise)"
        return self.level.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit_sha,
            "measured": self.measured,
            "level": None if self.level is None else self.level.value,
            "within_noise": self.within_noise,
            "summary": self.summary,
            "alert_triggered": self.alert_triggered,
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class CommitMetrics:
    """Everything stored for one commit: before, after and the delta per metric."""

    commit_sha: str
    files: list[str]
    baseline_at: float
    before: Snapshot
    measured_at: float | None
    after: Snapshot | None
    deltas: list[MetricDelta]
    impact: ImpactSummary

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit_sha,
            "files": self.files,
            "baseline_at": self.baseline_at,
            "before": self.before.to_dict(),
            "measured_at": self.measured_at,
            "after": None if self.after is None else self.after.to_dict(),
            "deltas": [d.to_dict() for d in self.deltas],
            "impact": self.impact.to_dict(),
        }


# -- writes --------------------------------------------------------------------------------------
async def save_baseline(
    store: Store, sha: str, files: Sequence[str], before: Snapshot, at: float
) -> None:
    """A new baseline for ``sha``; a previous measurement of it starts over."""
    await store.execute(
        """INSERT INTO correlator_commits (commit_sha, files_json, baseline_at, before_json)
           VALUES (?, ?, ?, ?)
           ON CONFLICT (commit_sha) DO UPDATE SET files_json = excluded.files_json,
             baseline_at = excluded.baseline_at, before_json = excluded.before_json,
             measured_at = NULL, after_json = NULL, delta_json = NULL, impact = NULL,
             within_noise = 0, summary = '', reasons_json = '[]', alert_triggered = 0,
             learned = 0""",
        (sha, json.dumps(list(files)), at, json.dumps(before.to_dict())),
    )


async def save_measurement(
    store: Store,
    sha: str,
    after: Snapshot,
    result: ImpactResult,
    *,
    at: float,
    alert: bool,
    teach: dict[str, tuple[float, float, float | None]],
) -> bool:
    """Store the after snapshot and deltas, the alert if any, and teach the prediction model
    (pattern -> cpu, memory, response deltas) unless this baseline already taught it.
    Returns whether the model learned."""
    async with store.transaction() as conn:
        cursor = await conn.execute(
            "SELECT learned FROM correlator_commits WHERE commit_sha = ?", (sha,)
        )
        row = await cursor.fetchone()
        learn = row is not None and not row[0]
        await conn.execute(
            """UPDATE correlator_commits SET measured_at = ?, after_json = ?, delta_json = ?,
                 impact = ?, within_noise = ?, summary = ?, reasons_json = ?,
                 alert_triggered = ?, learned = 1
               WHERE commit_sha = ?""",
            (
                at,
                json.dumps(after.to_dict()),
                json.dumps([d.to_dict() for d in result.deltas.values()]),
                result.level.value,
                int(result.within_noise),
                result.summary,
                json.dumps(result.reasons),
                int(alert),
                sha,
            ),
        )
        if alert:
            await conn.execute(
                "INSERT INTO correlator_alerts (commit_sha, level, reason, at) VALUES (?, ?, ?, ?)",
                (sha, result.level.value, result.summary, at),
            )
        if learn:
            for pattern, (cpu, memory, response) in teach.items():
                cursor = await conn.execute(
                    "SELECT * FROM correlator_predictions WHERE pattern = ?", (pattern,)
                )
                current = await cursor.fetchone()
                stats = _stats(current) if current else PatternStats(pattern)
                await _write_stats(conn, stats.learn(cpu, memory, response, at))
    return learn


async def _write_stats(conn: Any, stats: PatternStats) -> None:
    await conn.execute(
        """INSERT INTO correlator_predictions (pattern, cpu_avg, memory_avg, response_avg_ms,
             samples, response_samples, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (pattern) DO UPDATE SET cpu_avg = excluded.cpu_avg,
             memory_avg = excluded.memory_avg, response_avg_ms = excluded.response_avg_ms,
             samples = excluded.samples, response_samples = excluded.response_samples,
             updated_at = excluded.updated_at""",
        (
            stats.pattern,
            stats.cpu_avg,
            stats.memory_avg,
            stats.response_avg_ms,
            stats.samples,
            stats.response_samples,
            stats.updated_at,
        ),
    )


async def mark_alerts_notified(store: Store, ids: Iterable[int], at: float) -> None:
    await store.executemany(
        "UPDATE correlator_alerts SET notified = 1, notified_at = ? WHERE id = ?",
        [(at, alert_id) for alert_id in ids],
    )


async def add_runtime_sample(store: Store, sample: dict[str, float], at: float, keep: int) -> None:
    """One runtime reading; only the newest ``keep`` are kept."""
    async with store.transaction() as conn:
        await conn.execute(
            """INSERT INTO correlator_samples (at, cpu_percent, memory_percent, disk_percent, load_1m)
               VALUES (?, ?, ?, ?, ?)""",
            (
                at,
                sample.get("cpu_percent"),
                sample.get("memory_percent"),
                sample.get("disk_percent"),
                sample.get("load_1m"),
            ),
        )
        await conn.execute(
            """DELETE FROM correlator_samples WHERE id NOT IN
               (SELECT id FROM correlator_samples ORDER BY at DESC, id DESC LIMIT ?)""",
            (keep,),
        )


# -- reads ---------------------------------------------------------------------------------------
async def load_baseline(store: Store, sha: str) -> tuple[list[str], Snapshot] | None:
    row = await store.fetchone(
        "SELECT files_json, before_json FROM correlator_commits WHERE commit_sha = ?", (sha,)
    )
    if row is None:
        return None
    return json.loads(row["files_json"]), Snapshot.from_dict(json.loads(row["before_json"]))


async def pattern_stats(store: Store, patterns: Sequence[str]) -> list[PatternStats]:
    if not patterns:
        return []
    marks = ", ".join("?" for _ in patterns)
    rows = await store.fetchall(
        f"SELECT * FROM correlator_predictions WHERE pattern IN ({marks}) ORDER BY pattern",
        list(patterns),
    )
    return [_stats(row) for row in rows]


async def alert_history(
    store: Store, *, limit: int = 100, unnotified_only: bool = False
) -> list[Alert]:
    """Newest first."""
    where = "WHERE notified = 0" if unnotified_only else ""
    rows = await store.fetchall(
        f"SELECT * FROM correlator_alerts {where} ORDER BY at DESC, id DESC LIMIT ?",
        (limit,),
    )
    return [
        Alert(
            r["id"],
            r["commit_sha"],
            ImpactLevel(r["level"]),
            r["reason"],
            r["at"],
            bool(r["notified"]),
        )
        for r in rows
    ]


async def impact_by_commit(store: Store, shas: Sequence[str]) -> dict[str, ImpactSummary | None]:
    """For the Convergence pane's impact column: None means "no baseline"."""
    found: dict[str, ImpactSummary | None] = dict.fromkeys(shas)
    for start in range(0, len(shas), 500):
        chunk = list(shas[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows = await store.fetchall(
            f"""SELECT commit_sha, measured_at, impact, within_noise, summary, alert_triggered
                FROM correlator_commits WHERE commit_sha IN ({marks})""",
            chunk,
        )
        for row in rows:
            found[row["commit_sha"]] = _summary(row)
    return found


async def commit_metrics_detail(store: Store, sha: str) -> CommitMetrics | None:
    row = await store.fetchone("SELECT * FROM correlator_commits WHERE commit_sha = ?", (sha,))
    if row is None:
        return None
    after = json.loads(row["after_json"]) if row["after_json"] else None
    return CommitMetrics(
        commit_sha=sha,
        files=json.loads(row["files_json"]),
        baseline_at=row["baseline_at"],
        before=Snapshot.from_dict(json.loads(row["before_json"])),
        measured_at=row["measured_at"],
        after=None if after is None else Snapshot.from_dict(after),
        deltas=[MetricDelta.from_dict(d) for d in json.loads(row["delta_json"] or "[]")],
        impact=_summary(row),
    )


async def recent_samples(store: Store, *, limit: int = 60) -> list[dict[str, float | None]]:
    """The runtime's newest samples, oldest first (ready for a sparkline)."""
    rows = await store.fetchall(
        "SELECT * FROM correlator_samples ORDER BY at DESC, id DESC LIMIT ?", (limit,)
    )
    return [
        {k: row[k] for k in ("at", "cpu_percent", "memory_percent", "disk_percent", "load_1m")}
        for row in reversed(rows)
    ]


def _summary(row: sqlite3.Row) -> ImpactSummary:
    measured = row["measured_at"] is not None
    return ImpactSummary(
        commit_sha=row["commit_sha"],
        measured=measured,
        level=ImpactLevel(row["impact"]) if measured and row["impact"] else None,
        within_noise=bool(row["within_noise"]),
        summary=row["summary"] or ("baseline taken, no delta yet" if not measured else ""),
        alert_triggered=bool(row["alert_triggered"]),
    )


def _stats(row: sqlite3.Row) -> PatternStats:
    return PatternStats(
        pattern=row["pattern"],
        cpu_avg=row["cpu_avg"],
        memory_avg=row["memory_avg"],
        response_avg_ms=row["response_avg_ms"],
        samples=row["samples"],
        response_samples=row["response_samples"],
        updated_at=row["updated_at"],
    )
