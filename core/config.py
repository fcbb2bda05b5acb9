"""Configuration: packaged defaults, the operator's own config, the repository's, then CLI flags.

Layers, later ones win: ``data/defaults.toml``; the user config
(:func:`controlroom.core.locations.user_config_file`, trusted); the repository's config (the search,
as ruff does it: ``controlroom.toml`` at the repository root, else ``[tool.controlroom]`` in its
``pyproject.toml``), or ``--config FILE`` instead of it (trusted: the operator typed it); CLI flags.
The repository's config is untrusted: its privileged settings (:mod:`controlroom.core.privileged`)
are dropped and listed in :attr:`Config.ignored_untrusted` until the operator trusts that exact
content (:mod:`controlroom.core.trust`). ``data/defaults.toml`` doubles as the schema:
a key it does not have is unknown and a value must have the default's type. Tables listed in
:data:`FREE_TABLES` take any key; arrays of tables listed in :data:`TABLE_ARRAYS` are checked by
their own validator. Every error names the file, the line and the key.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import math
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlroom.core import privileged, trust
from controlroom.core.errors import ConfigError
from controlroom.core.locations import user_config_file
from controlroom.core.oneline import one_line
from controlroom.data import data_file

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
}
# Values that must be one of a fixed set (checked after types).
CHOICES: dict[str, tuple[str, ...]] = {
    "llm.default_tier": ("haiku", "sonnet", "opus"),
    "tests.bug_severity": SEVERITIES,
    "tests.offered_severity": SEVERITIES,
    "critic.test_code.max_severity": SEVERITIES,
    "docs.style": ("auto", "google", "numpy", "sphinx"),
    "subagents.backend": ("local", "store", "celery"),
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


@dataclass
class Config:
    """The merged configuration. ``get("critic.select")`` reads a dotted key."""

    data: dict[str, Any]
    source: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)  # every file read, in merge order
    # Privileged settings of an untrusted repository config that were dropped (labels, escaped).
    ignored_untrusted: list[str] = field(default_factory=list)
    notice: str = ""  # the one-line warning about them ("" when nothing was ignored)

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, name: str) -> dict[str, Any]:
        value = self.get(name, {})
        return value if isinstance(value, dict) else {}

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """CLI flags win: a copy with dotted keys set."""
        data = copy.deepcopy(self.data)
        for dotted, value in overrides.items():
            *parents, leaf = dotted.split(".")
            node = data
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return dataclasses.replace(self, data=data, overrides={**self.overrides, **overrides})


def load_defaults() -> dict[str, Any]:
    return tomllib.loads(data_file("defaults.toml").read_text(encoding="utf-8"))


def find_config(repo: Path) -> tuple[Path, str] | None:
    """The config file for ``repo`` and the table prefix inside it ("" or "tool.controlroom")."""
    own = repo / "controlroom.toml"
    if own.is_file():
        return _within(own, repo), ""
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        _within(pyproject, repo)
        try:
            text = pyproject.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if re.search(r"^\s*\[\s*tool\s*\.\s*controlroom\b", text, re.MULTILINE):
            return pyproject, "tool.controlroom"
    return None


def _within(path: Path, repo: Path) -> Path:
    """``path`` itself, unless it is a symbolic link leading out of the repository (refused)."""
    if not path.resolve().is_relative_to(repo.resolve()):
        raise ConfigError("a symbolic link out of the repository: not read", path=str(path))
    return path


@dataclass(frozen=True)
class Layer:
    """One config file as read: its bytes, the table controlroom reads from it (validated)."""

    path: Path
    prefix: str
    raw: bytes
    table: dict[str, Any]

    @property
    def digest(self) -> str:
        return trust.config_digest(self.prefix, self.raw, self.table)


def read_layer(path: Path, prefix: str, schema: dict[str, Any]) -> Layer:
    """Read, parse and validate one config file (``prefix``: its table, "" or "tool.controlroom")."""
    raw = _read(path)
    text = raw.decode("utf-8")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(exc)
        raise ConfigError(
            f"not valid TOML: {_strip_position(exc)}", path=str(path), line=line
        ) from exc
    table = document
    for part in prefix.split(".") if prefix else []:
        table = table.get(part, {}) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix} must be a table", path=str(path))
    _validate(table, schema, "", path, _Locator(text, prefix))
    return Layer(path, prefix, raw, table)


def load_config(repo: Path | None, config_file: Path | None = None) -> Config:
    """Defaults, the user config, then the repository's config (or ``config_file``), validated."""
    defaults = load_defaults()
    data, sources = _operator_layers(defaults)
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError("config file not found", path=str(config_file))
        layer = read_layer(config_file, _prefix_for(config_file), defaults)
        return Config(
            _merge(data, layer.table), source=config_file, sources=[*sources, config_file]
        )
    found = find_config(repo) if repo is not None else None
    if found is None or repo is None:
        return Config(data, source=sources[-1] if sources else None, sources=sources)
    layer = read_layer(found[0], found[1], defaults)
    table, ignored = privileged.split(layer.table, data, repo)
    state = trust.TrustStatus.UNTRUSTED
    if ignored:  # only then do the trust records matter
        state, _ = trust.status(repo, layer.path.name, layer.digest)
        if state is trust.TrustStatus.TRUSTED:
            table, ignored = layer.table, []
    notice = ignored_notice(layer.path, ignored, state, repo) if ignored else ""
    if notice:
        _report_once((str(layer.path), layer.digest), notice)
    return Config(
        _merge(data, table),
        source=layer.path,
        sources=[*sources, layer.path],
        ignored_untrusted=ignored,
        notice=notice,
    )


def repo_layer(repo: Path) -> Layer | None:
    """The repository's own config, read and validated (None when it has none)."""
    found = find_config(repo)
    return read_layer(found[0], found[1], load_defaults()) if found else None


def operator_base() -> dict[str, Any]:
    """What the operator's layers give: the defaults merged with the user config."""
    return _operator_layers(load_defaults())[0]


def _operator_layers(defaults: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    user_file = user_config_file()
    if not user_file.is_file():
        return defaults, []
    return _merge(defaults, read_layer(user_file, "", defaults).table), [user_file]


def ignored_notice(path: Path, ignored: list[str], state: trust.TrustStatus, repo: Path) -> str:
    """One line: which privileged settings were ignored and the command that trusts them."""
    shown = ignored[:6]
    listing = ", ".join(shown) + (f", and {len(ignored) - len(shown)} more" if ignored[6:] else "")
    noun = "setting" if len(ignored) == 1 else "settings"
    command = "controlroom trust"
    try:
        elsewhere = repo.resolve() != Path.cwd().resolve()
    except OSError:
        elsewhere = True
    if elsewhere:
        command += f" --repo {shlex.quote(str(repo))}"
    why = "changed since you trusted it; " if state is trust.TrustStatus.CHANGED else ""
    return one_line(
        f"{path}: {why}ignoring {len(ignored)} privileged {noun} ({listing}) "
        f"until you run '{command}'"
    )


# Who hears about ignored settings (the CLI registers its stderr warning); each config once.
_reporter: Callable[[str], None] | None = None
_reported: set[tuple[str, str]] = set()


def set_notice_reporter(reporter: Callable[[str], None] | None) -> None:
    """Print ignored-settings notices with ``reporter``, once per config content per process."""
    global _reporter
    _reporter = reporter


def _report_once(key: tuple[str, str], notice: str) -> None:
    if _reporter is not None and key not in _reported:
        _reported.add(key)
        _reporter(notice)


def _prefix_for(path: Path) -> str:
    return "tool.controlroom" if path.name == "pyproject.toml" else ""


def _read(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    return raw


def _toml_error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return int(lineno)
    match = re.search(r"line (\d+)", str(exc))
    return int(match[1]) if match else None


def _strip_position(exc: Exception) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))


def _merge(base: dict[str, Any], user: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, f"{dotted}.")
        elif dotted in MERGE_BY_NAME and isinstance(merged.get(key), list):
            names = {item.get("name") for item in value}
            kept = [item for item in merged[key] if item.get("name") not in names]
            merged[key] = kept + copy.deepcopy(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


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


def _validate(
    user: dict[str, Any], schema: dict[str, Any], prefix: str, path: Path, locate: _Locator
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
            _validate(value, default, f"{dotted}.", path, locate)
            continue
        if not _matches(value, default):
            raise ConfigError(
                f"{dotted} must be {_type_name(default)}, not {_type_name(value)}",
                path=str(path),
                line=line,
            )
        _check_value(dotted, value, path, line)


def _check_finite(value: Any, shown: str, where: str, path: Path, locate: _Locator) -> None:
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
    return getattr(importlib.import_module(module_name), attribute)


def _bind(locate: _Locator, dotted: str) -> Callable[[str], int | None]:
    """A locator for validators of arrays of tables: ``"3.max_age"`` -> its line."""
    return lambda sub: locate(f"{dotted}.{sub}")


class _Locator:
    """Finds the line of a dotted key in TOML source text (best effort, for error messages)."""

    _header = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _key = re.compile(r'^\s*("[^"]+"|\'[^\']+\'|[A-Za-z0-9_.-]+)\s*=')

    def __init__(self, text: str, prefix: str) -> None:
        self.entries: list[tuple[str, int]] = []
        table: str | None = "" if not prefix else None
        array_counts: dict[str, int] = {}
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
