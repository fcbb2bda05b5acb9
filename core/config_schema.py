"""The config schema: what a value may be, beyond having the packaged default's type.

``data/defaults.toml`` is the schema (a key it does not have is unknown, a value must have the
default's type); this module adds the rules a type cannot say (choices, ranges, free tables, arrays
of tables with their own validator) and validates a parsed config file against them, naming the file,
the line and the key of the first error.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controlroom.core.errors import ConfigError

SEVERITIES = ("critical", "high", "medium", "low", "info")

# Tables whose keys are the user's own names; the value type each key must have.
FREE_TABLES: dict[str, type | tuple[type, ...]] = {
    "critic.severity": str,
    # [llm]: per-agent {tier, model}, per-model price tables; [budgets]: per-agent caps.
    "llm.agents": dict,
    "llm.prices": dict,
    "llm.purposes": dict,
    "llm.models": dict,
    "budgets.agents": dict,
    # [correlator]: services (name -> process name or "pidfile:PATH"), endpoints (name -> URL).
    "correlator.services": str,
    "correlator.endpoints": str,
    "queue.filters": str,  # saved filters, name -> filter text
}
# Values that must be one of a fixed set (checked after types).
CHOICES: dict[str, tuple[str, ...]] = {
    "llm.default_tier": ("haiku", "sonnet", "opus"),
    "tests.bug_severity": SEVERITIES,
    "tests.offered_severity": SEVERITIES,
    "critic.test_code.max_severity": SEVERITIES,
    "docs.style": ("auto", "google", "numpy", "sphinx"),
    "subagents.backend": ("local", "store", "celery"),
    "queue.sort": ("priority", "severity", "file", "rule", "age", "state", "confidence"),
    "queue.group": ("none", "file", "rule", "agent", "commit"),
    "queue.min_severity": SEVERITIES,
    "apply.retrieval": ("words", "meaning"),
}
# Numbers that must be positive.
POSITIVE = {
    "subagents.unit_time_limit",
    "subagents.visibility_timeout",
    "subagents.liveness_timeout",
    "subagents.connect_timeout",
    "convergence.learning_rerank_limit",
    "apply.timeout",
    "convergence.learning_half_life_days",
    "tests.timeout",
    "tests.concurrency",
    "tests.max_functions",
    "tests.max_examples",
    "tests.memory_mb",
    "tests.max_file_mb",
    "tests.max_processes",
    "sla.interval",
    "sla.timeout",
    "sla.target",
    "sla.retention_days",
    "sla.failure_threshold",
    "sla.success_threshold",
    "sla.reminder_interval",
    "sla.cooldown",
    "sla.webhook_timeout",
    "runtime.poll_interval",
    "runtime.max_commits_per_cycle",
    "runtime.ui_refresh_interval",
    "agents.timeout",
    "agents.timeout_max",
    "git.max_file_bytes",
    "critic.max_complexity",
    "critic.triage_max",
    "convergence.consensus_min_agents",
    "llm.timeout",
    "llm.deadline",
    "llm.max_concurrency",
    "llm.max_tokens",
    "llm.breaker_threshold",
    "llm.breaker_cooldown",
    "budgets.reservation_ttl",
    "budgets.chars_per_token",
    "subagents.max_concurrent",
    "subagents.heartbeat_interval",
    "subagents.missed_heartbeats",
    "subagents.poll_interval",
    "subagents.assignment_timeout",
    "subagents.drain_timeout",
    "hobbies.check_interval",
    "hobbies.min_gap",
    "hobbies.timeout",
    "hobbies.half_life_days",
    "hobbies.prior_approved",
    "hobbies.prior_rejected",
    "hobbies.max_findings",
    "hobbies.complexity_threshold",
    "hobbies.maintainability_threshold",
    "hobbies.history_days",
    "hobbies.hotspot_min_commits",
    "correlator.samples",
    "correlator.sample_interval",
    "correlator.http_timeout",
    "correlator.confidence_samples",
    "correlator.runtime_interval",
    "correlator.runtime_keep",
    "correlator.git_window_days",
    "correlator.noise_sigmas",
}
# Numbers outside [lo, hi] (the bounds included); every other number must be in [0, MAX_NUMBER].
MAX_NUMBER = 1_000_000_000
RANGES: dict[str, tuple[float, float]] = {
    "critic.confidence": (0, 1),
    "critic.security_confidence": (0, 1),
    "critic.test_code.confidence_factor": (0, 1),
    "critic.test_code.levels_down": (0, 4),
    "docs.confidence": (0, 1),
    "impact.perf_confidence": (0, 1),
    "sla.jitter": (0, 1),
    "sla.target": (0, 100),
    "sla.webhook_retries": (0, 10),
    "llm.max_retries": (0, 10),
    "llm.max_concurrency": (1, 256),
    "tests.concurrency": (1, 256),
    "subagents.max_concurrent": (1, 1024),
    # Seconds between loops: a value near 0 would be a busy loop.
    "runtime.poll_interval": (0.01, MAX_NUMBER),
    "runtime.ui_refresh_interval": (0.01, MAX_NUMBER),
    "sla.interval": (0.01, MAX_NUMBER),
    "correlator.sample_interval": (0.01, MAX_NUMBER),
    "correlator.runtime_interval": (0.01, MAX_NUMBER),
    "subagents.heartbeat_interval": (0.01, MAX_NUMBER),
    "subagents.poll_interval": (0.005, MAX_NUMBER),
    "hobbies.check_interval": (0.01, MAX_NUMBER),
    # items of arrays of numbers
    "llm.routing_target": (0, 100),
    "budgets.thresholds": (1, 1000),
}
# Arrays of tables merged by their "name" across layers: a later layer replaces an item of the
# same name and adds the others (the operator's own checks stay beside the repository's).
MERGE_BY_NAME = {"sla.checks"}
# Arrays of tables validated by a function named "module:function", imported when needed. It is
# called as ``fn(items, locate, path)``: ``locate("0.max_age")`` gives the line of that field, and
# it raises ConfigError(message, path=path, line=...) for the first bad field.
TABLE_ARRAYS: dict[str, str] = {
    "sla.checks": "controlroom.core.sla.definitions:validate_checks",
    "sla.maintenance": "controlroom.core.sla.maintenance:validate_windows",
}


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _matches(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list):
        if not isinstance(value, list):
            return False
        if default:
            return all(_matches(item, default[0]) for item in value)
        return True
    return isinstance(value, type(default))


def validate(
    user: dict[str, Any], schema: dict[str, Any], prefix: str, path: Path, locate: Locator
) -> None:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        line = locate(dotted)
        _check_finite(value, dotted, dotted, path, locate)
        if dotted in TABLE_ARRAYS:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{dotted} must be an array of tables", path=str(path), line=line)
            _resolve(TABLE_ARRAYS[dotted])(value, _bind(locate, dotted), str(path))
            continue
        if prefix.rstrip(".") in FREE_TABLES:
            expected = FREE_TABLES[prefix.rstrip(".")]
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(f"{dotted} has the wrong type", path=str(path), line=line)
            _check_value(dotted, value, path, line)
            continue
        if key not in schema:
            raise ConfigError(f"unknown key {dotted}", path=str(path), line=line)
        default = schema[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted} must be a table", path=str(path), line=line)
            validate(value, default, f"{dotted}.", path, locate)
            continue
        if not _matches(value, default):
            raise ConfigError(
                f"{dotted} must be {_type_name(default)}, not {_type_name(value)}",
                path=str(path),
                line=line,
            )
        _check_value(dotted, value, path, line)


def _check_finite(value: Any, shown: str, where: str, path: Path, locate: Locator) -> None:
    """No NaN or infinity anywhere: ``shown`` names the value, ``where`` is its locator key."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{shown} must be a finite number", path=str(path), line=locate(where))
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{shown}.{key}", f"{where}.{key}", path, locate)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, f"{shown}[{index}]", f"{where}.{index}", path, locate)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(dotted: str, value: Any, path: Path, line: int | None) -> None:
    low, high = RANGES.get(dotted, (0, MAX_NUMBER))
    if not low <= value <= high:
        raise ConfigError(
            f"{dotted} must be between {low:g} and {high:g}, not {value!r}",
            path=str(path),
            line=line,
        )


def _check_value(dotted: str, value: Any, path: Path, line: int | None) -> None:
    if dotted in POSITIVE and _is_number(value) and value <= 0:
        raise ConfigError(
            f"{dotted} must be greater than 0, not {value}", path=str(path), line=line
        )
    if _is_number(value):
        _check_range(dotted, value, path, line)
    elif isinstance(value, list):
        for item in value:
            if _is_number(item):
                _check_range(dotted, item, path, line)
    choices = CHOICES.get(dotted)
    if dotted.startswith("critic.severity.") or dotted.endswith(".severity"):
        choices = SEVERITIES
    if choices and value not in choices:
        raise ConfigError(
            f"{dotted} must be one of {', '.join(choices)}, not {value!r}",
            path=str(path),
            line=line,
        )


def _resolve(target: str) -> Callable[..., None]:
    module_name, _, attribute = target.partition(":")
    resolved: Callable[..., None] = getattr(importlib.import_module(module_name), attribute)
    return resolved


def _bind(locate: Locator, dotted: str) -> Callable[[str], int | None]:
    """A locator for validators of arrays of tables: ``"3.max_age"`` -> its line."""
    return lambda sub: locate(f"{dotted}.{sub}")


class Locator:
    """Finds the line of a dotted key in TOML source text (best effort, for error messages)."""

    _header = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _key = re.compile(r'^\s*("[^"]+"|\'[^\']+\'|[A-Za-z0-9_.-]+)\s*=')

    def __init__(self, text: str, prefix: str) -> None:
        self.entries: list[tuple[str, int]] = []
        table: str | None = "" if not prefix else None
        array_counts: dict[str | None, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            header = self._header.match(raw)
            if header:
                name = _strip_prefix(_normalise(header[2]), prefix)
                if header[1] == "[[":
                    index = array_counts.get(name, 0)
                    array_counts[name] = index + 1
                    table = f"{name}.{index}" if name is not None else None
                else:
                    table = name
                if table is not None:
                    self.entries.append((table, number))
                continue
            key = self._key.match(raw)
            if key and table is not None:
                dotted = _normalise(key[1])
                full = f"{table}.{dotted}" if table else dotted
                self.entries.append((full, number))

    def __call__(self, dotted: str) -> int | None:
        for name, line in self.entries:
            if name == dotted:
                return line
        # A key set in an inline table or a parent: the closest enclosing entry.
        parts = dotted.split(".")
        while parts:
            parts.pop()
            candidate = ".".join(parts)
            for name, line in self.entries:
                if name == candidate:
                    return line
        return None


def _normalise(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def _strip_prefix(name: str, prefix: str) -> str | None:
    if not prefix:
        return name
    if name == prefix:
        return ""
    if name.startswith(prefix + "."):
        return name[len(prefix) + 1 :]
    return None
