"""A metrics snapshot: a short window of samples reduced to a mean and a spread per metric."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# One reading of every metric the probe could see: metric name -> value.
Sample = Mapping[str, float]


@dataclass(frozen=True, slots=True)
class MetricStats:
    """The mean, the spread (sample standard deviation, 0 for one value) and the value count."""

    mean: float
    spread: float
    count: int

    def to_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "spread": self.spread, "count": self.count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricStats:
        return cls(float(data["mean"]), float(data["spread"]), int(data["count"]))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Metric name -> statistics over the window, with when the window ended and its length."""

    metrics: dict[str, MetricStats]
    taken_at: float = field(default_factory=time.time)
    samples: int = 0
    duration_s: float = 0.0

    def mean(self, name: str) -> float | None:
        stats = self.metrics.get(name)
        return None if stats is None else stats.mean

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at,
            "samples": self.samples,
            "duration_s": self.duration_s,
            "metrics": {name: stats.to_dict() for name, stats in sorted(self.metrics.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        return cls(
            metrics={k: MetricStats.from_dict(v) for k, v in data.get("metrics", {}).items()},
            taken_at=float(data.get("taken_at", 0.0)),
            samples=int(data.get("samples", 0)),
            duration_s=float(data.get("duration_s", 0.0)),
        )


def summarize(
    samples: Sequence[Sample], *, taken_at: float | None = None, duration_s: float = 0.0
) -> Snapshot:
    """Reduce samples to a snapshot. A metric missing from some samples uses the ones it has."""
    values: dict[str, list[float]] = {}
    for sample in samples:
        for name, value in sample.items():
            values.setdefault(name, []).append(float(value))
    metrics = {
        name: MetricStats(
            mean=statistics.fmean(found),
            spread=statistics.stdev(found) if len(found) > 1 else 0.0,
            count=len(found),
        )
        for name, found in values.items()
    }
    return Snapshot(
        metrics=metrics,
        taken_at=time.time() if taken_at is None else taken_at,
        samples=len(samples),
        duration_s=duration_s,
    )
