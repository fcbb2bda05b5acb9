"""Impact levels from a baseline and an after snapshot, aware of the baseline's own noise."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlroom.core.correlator.snapshot import MetricStats, Snapshot


class ImpactLevel(enum.StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)


_ORDER = [
    ImpactLevel.NONE,
    ImpactLevel.LOW,
    ImpactLevel.MEDIUM,
    ImpactLevel.HIGH,
    ImpactLevel.CRITICAL,
]
GRADED = (ImpactLevel.CRITICAL, ImpactLevel.HIGH, ImpactLevel.MEDIUM, ImpactLevel.LOW)
KINDS = ("cpu", "memory", "response_ms")
_UNITS = {"cpu": "points", "memory": "points", "response_ms": "ms"}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Minimum increase per level and kind: ``by_level[level][kind]``, kind in :data:`KINDS`."""

    by_level: Mapping[ImpactLevel, Mapping[str, float]]

    @classmethod
    def defaults(cls) -> Thresholds:
        return cls.from_config(
            {
                "critical": {"cpu": 20.0, "memory": 30.0, "response_ms": 100.0},
                "high": {"cpu": 10.0, "memory": 15.0, "response_ms": 50.0},
                "medium": {"cpu": 5.0, "memory": 10.0, "response_ms": 25.0},
                "low": {"cpu": 2.0, "memory": 5.0, "response_ms": 10.0},
            }
        )

    @classmethod
    def from_config(cls, table: Mapping[str, Mapping[str, float]]) -> Thresholds:
        return cls({level: dict(table[level.value]) for level in GRADED})

    def level_for(self, kind: str, delta: float) -> ImpactLevel:
        for level in GRADED:
            if delta >= self.by_level[level][kind]:
                return level
        return ImpactLevel.NONE


def metric_kind(name: str) -> str | None:
    """Which threshold applies: system and service CPU %, memory %, HTTP response time,
    availability (``*.up``); ``None`` for metrics that are recorded but not scored."""
    leaf = name.rsplit(".", 1)[-1]
    return {
        "cpu_percent": "cpu",
        "memory_percent": "memory",
        "response_ms": "response_ms",
        "up": "up",
    }.get(leaf)


@dataclass(frozen=True, slots=True)
class MetricDelta:
    name: str
    before: MetricStats | None
    after: MetricStats | None
    delta: float | None
    noise: float  # the band around the baseline inside which a change is not impact
    within_noise: bool  # a change that would score was swallowed by the noise band
    level: ImpactLevel
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "before": None if self.before is None else self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
            "delta": self.delta,
            "noise": self.noise,
            "within_noise": self.within_noise,
            "level": self.level.value,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricDelta:
        before, after = data.get("before"), data.get("after")
        return cls(
            name=data["name"],
            before=None if before is None else MetricStats.from_dict(before),
            after=None if after is None else MetricStats.from_dict(after),
            delta=data.get("delta"),
            noise=float(data.get("noise", 0.0)),
            within_noise=bool(data.get("within_noise", False)),
            level=ImpactLevel(data.get("level", "none")),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True, slots=True)
class ImpactResult:
    level: ImpactLevel
    within_noise: bool  # nothing scored, and at least one change was only noise
    reasons: list[str]
    summary: str
    deltas: dict[str, MetricDelta]


def score(
    before: Snapshot, after: Snapshot, thresholds: Thresholds, *, noise_sigmas: float = 1.0
) -> ImpactResult:
    """Per metric: delta = after mean - before mean; a delta no larger than ``noise_sigmas`` times
    the baseline's spread is noise. The commit's level is the worst metric's level."""
    deltas = {
        name: _metric_delta(
            name, before.metrics.get(name), after.metrics.get(name), thresholds, noise_sigmas
        )
        for name in sorted(set(before.metrics) | set(after.metrics))
    }
    level = max(
        (d.level for d in deltas.values()), key=lambda lv: lv.rank, default=ImpactLevel.NONE
    )
    reasons = [d.note for d in deltas.values() if d.level is not ImpactLevel.NONE]
    noisy = [d for d in deltas.values() if d.within_noise]
    within_noise = level is ImpactLevel.NONE and bool(noisy)
    if level is not ImpactLevel.NONE:
        summary = f"{level.value}: " + "; ".join(reasons)
    elif within_noise:
        summary = "none: within noise (" + "; ".join(d.note for d in noisy) + ")"
    else:
        summary = "none: no change reached the low thresholds"
    return ImpactResult(level, within_noise, reasons, summary, deltas)


def _metric_delta(
    name: str,
    before: MetricStats | None,
    after: MetricStats | None,
    thresholds: Thresholds,
    noise_sigmas: float,
) -> MetricDelta:
    kind = metric_kind(name)
    if before is None or after is None:
        note = "only after the change" if before is None else "not seen after the change"
        return MetricDelta(
            name, before, after, None, 0.0, False, ImpactLevel.NONE, f"{name} {note}"
        )
    delta = after.mean - before.mean
    noise = noise_sigmas * before.spread
    if kind == "up":
        down = before.mean >= 0.5 > after.mean
        level = ImpactLevel.CRITICAL if down else ImpactLevel.NONE
        note = (
            f"{name.rsplit('.', 1)[0]} down after the change"
            if down
            else f"{name} {after.mean:.2f}"
        )
        return MetricDelta(name, before, after, delta, noise, False, level, note)
    if kind is None:
        return MetricDelta(
            name, before, after, delta, noise, False, ImpactLevel.NONE, f"{name} {delta:+.2f}"
        )
    unit = _UNITS[kind]
    raw = thresholds.level_for(kind, delta)
    if raw is not ImpactLevel.NONE and delta <= noise:
        note = f"{name} {delta:+.1f} {unit} within noise (±{noise:.1f})"
        return MetricDelta(name, before, after, delta, noise, True, ImpactLevel.NONE, note)
    if raw is ImpactLevel.NONE:
        note = f"{name} {delta:+.1f} {unit}"
    else:
        edge = thresholds.by_level[raw][kind]
        note = f"{name} {delta:+.1f} {unit} ({raw.value} at +{edge:g})"
    return MetricDelta(name, before, after, delta, noise, False, raw, note)
