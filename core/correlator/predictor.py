"""Prediction by file pattern: running averages of past deltas, and a confidence that grows with them.

Each measured commit (baseline then delta) teaches every pattern its changed files match: the
configured fnmatch patterns (``agents/*.py``; ``*`` also crosses ``/``) and, with
``auto_patterns``, ``<directory>/*<suffix>`` of each file. A pattern keeps the running mean of the
system CPU and memory deltas (points) and of the worst HTTP response-time delta (ms), and how many
commits taught it. The prediction for a set of files is the matching pattern whose averages score
worst (ties: the one with more samples); its confidence is ``n / (n + k)`` with ``n`` its samples
and ``k`` = ``correlator.confidence_samples`` (default 5: 1 sample 0.17, 5 samples 0.5, 20 samples 0.8).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from controlroom.core.correlator.scoring import ImpactLevel, Thresholds


@dataclass(frozen=True, slots=True)
class PatternStats:
    pattern: str
    cpu_avg: float = 0.0
    memory_avg: float = 0.0
    response_avg_ms: float | None = None
    samples: int = 0
    response_samples: int = 0
    updated_at: float = 0.0

    def learn(
        self, cpu: float, memory: float, response_ms: float | None, at: float
    ) -> PatternStats:
        """One more commit's deltas folded into the running means."""
        n = self.samples + 1
        stats = replace(
            self,
            cpu_avg=self.cpu_avg + (cpu - self.cpu_avg) / n,
            memory_avg=self.memory_avg + (memory - self.memory_avg) / n,
            samples=n,
            updated_at=at,
        )
        if response_ms is not None:
            m = self.response_samples + 1
            previous = self.response_avg_ms or 0.0
            stats = replace(
                stats,
                response_avg_ms=previous + (response_ms - previous) / m,
                response_samples=m,
            )
        return stats

    def level(self, thresholds: Thresholds) -> ImpactLevel:
        levels = [
            thresholds.level_for("cpu", self.cpu_avg),
            thresholds.level_for("memory", self.memory_avg),
        ]
        if self.response_avg_ms is not None:
            levels.append(thresholds.level_for("response_ms", self.response_avg_ms))
        return max(levels, key=lambda lv: lv.rank)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "cpu_avg": self.cpu_avg,
            "memory_avg": self.memory_avg,
            "response_avg_ms": self.response_avg_ms,
            "samples": self.samples,
            "response_samples": self.response_samples,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Prediction:
    level: ImpactLevel
    confidence: float
    samples: int
    pattern: str  # the pattern the prediction rests on
    cpu_delta: float
    memory_delta: float
    response_delta_ms: float | None
    matched: list[PatternStats]

    @property
    def summary(self) -> str:
        parts = [f"cpu {self.cpu_delta:+.1f}", f"memory {self.memory_delta:+.1f}"]
        if self.response_delta_ms is not None:
            parts.append(f"response {self.response_delta_ms:+.0f} ms")
        return (
            f"predicted {self.level.value} impact ({', '.join(parts)}) from {self.samples} "
            f"past commit(s) touching {self.pattern}, confidence {self.confidence:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "confidence": self.confidence,
            "samples": self.samples,
            "pattern": self.pattern,
            "cpu_delta": self.cpu_delta,
            "memory_delta": self.memory_delta,
            "response_delta_ms": self.response_delta_ms,
            "summary": self.summary,
            "matched": [m.to_dict() for m in self.matched],
        }


def auto_pattern(path: str) -> str:
    """``agents/critic/agent.py`` -> ``agents/*.py``; ``setup.py`` -> ``*.py``; ``bin/run`` -> ``bin/*``."""
    pure = PurePosixPath(path)
    leaf = f"*{pure.suffix}"
    return leaf if str(pure.parent) in ("", ".") else f"{pure.parent}/{leaf}"


def patterns_for(
    files: Iterable[str], configured: Sequence[str], *, auto: bool = True
) -> list[str]:
    """Every pattern the files teach or consult, sorted."""
    found: set[str] = set()
    for path in files:
        found.update(p for p in configured if fnmatch.fnmatchcase(path, p))
        if auto:
            found.add(auto_pattern(path))
    return sorted(found)


def confidence(samples: int, k: float) -> float:
    return samples / (samples + k) if samples > 0 else 0.0


def predict(
    stats: Iterable[PatternStats], thresholds: Thresholds, *, confidence_samples: float = 5.0
) -> Prediction | None:
    """The prediction from the stats of the patterns that matched; None without history."""
    known = [s for s in stats if s.samples > 0]
    if not known:
        return None
    basis = max(known, key=lambda s: (s.level(thresholds).rank, s.samples, s.pattern))
    return Prediction(
        level=basis.level(thresholds),
        confidence=confidence(basis.samples, confidence_samples),
        samples=basis.samples,
        pattern=basis.pattern,
        cpu_delta=basis.cpu_avg,
        memory_delta=basis.memory_avg,
        response_delta_ms=basis.response_avg_ms,
        matched=sorted(known, key=lambda s: s.pattern),
    )
