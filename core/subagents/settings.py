"""The ``[subagents]`` and ``[hobbies]`` config tables as typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controlroom.core.settings import packaged, typed

PROBE = "probe"  # every worker can answer probes: cheap health checks and benchmarks


@dataclass(frozen=True, slots=True)
class SubagentSettings:
    """The ``[subagents]`` table; every default is the packaged one (data/defaults.toml)."""

    heartbeat_interval: float = packaged("subagents.heartbeat_interval", float)
    missed_heartbeats: int = packaged("subagents.missed_heartbeats", int)
    max_concurrent: int = packaged("subagents.max_concurrent", int)
    poll_interval: float = packaged("subagents.poll_interval", float)
    local_capabilities: tuple[str, ...] = packaged("subagents.local_capabilities", tuple)
    assignment_timeout: float = packaged("subagents.assignment_timeout", float)
    drain_timeout: float = packaged("subagents.drain_timeout", float)
    capabilities: tuple[str, ...] = packaged("subagents.capabilities", tuple)
    assignment_retention_hours: float = packaged("subagents.assignment_retention_hours", float)

    @classmethod
    def from_config(cls, config: Any | None) -> SubagentSettings:
        """From a ``core.config.Config`` (or None: the packaged defaults)."""
        return typed(cls, "subagents", config.section("subagents") if config is not None else {})


@dataclass(frozen=True, slots=True)
class HobbySettings:
    """The ``[hobbies]`` table; ``options`` is the whole table (each sweep reads its own keys)."""

    enabled: bool = packaged("hobbies.enabled", bool)
    sweeps: tuple[str, ...] = packaged("hobbies.sweeps", tuple)
    check_interval: float = packaged("hobbies.check_interval", float)
    min_gap: float = packaged("hobbies.min_gap", float)
    half_life_days: float = packaged("hobbies.half_life_days", float)
    prior_approved: float = packaged("hobbies.prior_approved", float)
    prior_rejected: float = packaged("hobbies.prior_rejected", float)
    max_findings: int = packaged("hobbies.max_findings", int)
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any | None) -> HobbySettings:
        given = config.section("hobbies") if config is not None else {}
        return typed(cls, "hobbies", given, options=dict(given))
