"""The ``[subagents]`` and ``[hobbies]`` config tables as typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_CAPABILITIES = ("critic", "tests", "docs", "impact", "hobby")
PROBE = "probe"  # every worker can answer probes: cheap health checks and benchmarks


@dataclass(frozen=True, slots=True)
class SubagentSettings:
    heartbeat_interval: float = 5.0
    missed_heartbeats: int = 3
    max_concurrent: int = 5
    poll_interval: float = 0.02
    local_capabilities: tuple[str, ...] = (*DEFAULT_CAPABILITIES, PROBE)
    assignment_timeout: float = 300.0
    drain_timeout: float = 30.0
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES
    assignment_retention_hours: float = 24.0

    @classmethod
    def from_config(cls, config: Any | None) -> SubagentSettings:
        """From a ``core.config.Config`` (or None: the defaults)."""
        table = config.section("subagents") if config is not None else {}
        base = cls()
        return cls(
            heartbeat_interval=float(table.get("heartbeat_interval", base.heartbeat_interval)),
            missed_heartbeats=int(table.get("missed_heartbeats", base.missed_heartbeats)),
            max_concurrent=int(table.get("max_concurrent", base.max_concurrent)),
            poll_interval=float(table.get("poll_interval", base.poll_interval)),
            local_capabilities=tuple(table.get("local_capabilities", base.local_capabilities)),
            assignment_timeout=float(table.get("assignment_timeout", base.assignment_timeout)),
            drain_timeout=float(table.get("drain_timeout", base.drain_timeout)),
            capabilities=tuple(table.get("capabilities", base.capabilities)),
            assignment_retention_hours=float(
                table.get("assignment_retention_hours", base.assignment_retention_hours)
            ),
        )


@dataclass(frozen=True, slots=True)
class HobbySettings:
    enabled: bool = True
    sweeps: tuple[str, ...] = ("coverage_sweep", "doc_sweep", "complexity_sweep", "history_index")
    check_interval: float = 30.0
    min_gap: float = 3600.0
    half_life_days: float = 14.0
    prior_approved: float = 1.0
    prior_rejected: float = 1.0
    max_findings: int = 50
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any | None) -> HobbySettings:
        table = config.section("hobbies") if config is not None else {}
        base = cls()
        return cls(
            enabled=bool(table.get("enabled", base.enabled)),
            sweeps=tuple(table.get("sweeps", base.sweeps)),
            check_interval=float(table.get("check_interval", base.check_interval)),
            min_gap=float(table.get("min_gap", base.min_gap)),
            half_life_days=float(table.get("half_life_days", base.half_life_days)),
            prior_approved=float(table.get("prior_approved", base.prior_approved)),
            prior_rejected=float(table.get("prior_rejected", base.prior_rejected)),
            max_findings=int(table.get("max_findings", base.max_findings)),
            options=dict(table),
        )
