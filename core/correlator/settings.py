"""The ``[correlator]`` config table as typed settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.config import Config
from controlroom.core.correlator.scoring import GRADED, KINDS, Thresholds
from controlroom.core.errors import ConfigError


@dataclass(frozen=True)
class CorrelatorSettings:
    samples: int = 10
    sample_interval: float = 1.0
    settle_wait: float = 60.0
    noise_sigmas: float = 1.0
    baseline_on_commit: bool = False
    http_timeout: float = 5.0
    disk_path: str = "/"
    services: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    file_patterns: tuple[str, ...] = ()
    auto_patterns: bool = True
    confidence_samples: float = 5.0
    enabled: bool = True
    runtime_interval: float = 30.0
    runtime_keep: int = 240
    git_window_days: int = 30
    thresholds: Thresholds = field(default_factory=Thresholds.defaults)

    @classmethod
    def from_config(cls, config: Config | Mapping[str, Any] | None) -> CorrelatorSettings:
        """From a :class:`Config` (its ``correlator`` table) or the table itself."""
        if config is None:
            return cls()
        table = config.section("correlator") if isinstance(config, Config) else dict(config)
        source = str(config.source) if isinstance(config, Config) and config.source else None
        defaults = cls()
        values: dict[str, Any] = {}
        for name in (
            "samples",
            "sample_interval",
            "settle_wait",
            "noise_sigmas",
            "baseline_on_commit",
            "http_timeout",
            "disk_path",
            "auto_patterns",
            "confidence_samples",
            "enabled",
            "runtime_interval",
            "runtime_keep",
            "git_window_days",
        ):
            values[name] = table.get(name, getattr(defaults, name))
        values["services"] = {str(k): str(v) for k, v in table.get("services", {}).items()}
        values["endpoints"] = {str(k): str(v) for k, v in table.get("endpoints", {}).items()}
        patterns = table.get("file_patterns", [])
        if not all(isinstance(p, str) and p for p in patterns):
            raise ConfigError("correlator.file_patterns must be non-empty strings", path=source)
        values["file_patterns"] = tuple(patterns)
        values["thresholds"] = _thresholds(table.get("thresholds"), source)
        return cls(**values)


def _thresholds(table: Mapping[str, Any] | None, source: str | None) -> Thresholds:
    merged: dict[str, dict[str, float]] = {
        level.value: dict(Thresholds.defaults().by_level[level]) for level in GRADED
    }
    for level, kinds in (table or {}).items():
        merged.setdefault(level, {}).update(kinds)
    for kind in KINDS:
        edges = [merged[level.value][kind] for level in reversed(GRADED)]  # low .. critical
        if edges != sorted(edges):
            raise ConfigError(
                f"correlator.thresholds: {kind} must not decrease from low to critical "
                f"(got {', '.join(f'{e:g}' for e in edges)})",
                path=source,
            )
    return Thresholds.from_config(merged)
