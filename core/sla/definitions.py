"""``[[sla.checks]]`` and ``[[sla.maintenance]]``: parsed into dataclasses, validated with file:line.

The validators are registered in ``core.config_schema.TABLE_ARRAYS`` and called as
``fn(items, locate, path)``; each raises :class:`ConfigError` naming the file, the line and the field.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controlroom.core.errors import ConfigError
from controlroom.core.sla.durations import parse_duration

KINDS = ("file_age", "sql_age", "http", "command", "process", "disk", "heartbeat")
SEVERITIES = ("critical", "high", "medium", "low", "info")
JSON_OPS = ("==", "!=", "<", "<=", ">", ">=", "contains", "exists")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Locate = Callable[[str], int | None]

# Field kinds: "str", "duration", "number", "int", "bool", "cmd" (str or list of str), "scalar".
COMMON: dict[str, str] = {
    "name": "str",
    "kind": "str",
    "interval": "duration",
    "timeout": "duration",
    "severity": "str",
    "group": "str",
    "target": "number",
    "failure_threshold": "int",
    "success_threshold": "int",
    "description": "str",
}
# Per kind: field -> (type, required). "one_of" groups are checked separately.
KIND_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "file_age": {"path": ("str", True), "max_age": ("duration", True)},
    "sql_age": {
        "database": ("str", False),
        "dsn": ("str", False),
        "query": ("str", True),
        "max_delay": ("duration", True),
        "returns": ("str", False),
    },
    "http": {
        "url": ("str", True),
        "method": ("str", False),
        "expect_status": ("int", False),
        "max_latency": ("duration", False),
        "json_field": ("str", False),
        "json_op": ("str", False),
        "json_value": ("scalar", False),
    },
    "command": {
        "command": ("cmd", True),
        "shell": ("bool", False),
        "max_duration": ("duration", False),
        "stdout_match": ("str", False),
        "cwd": ("str", False),
    },
    "process": {
        "process_name": ("str", False),
        "pidfile": ("str", False),
        "max_rss_mb": ("number", False),
        "max_cpu_pct": ("number", False),
    },
    "disk": {"path": ("str", False), "max_pct": ("number", True)},
    "heartbeat": {"max_age": ("duration", False)},
}
ONE_OF = {"sql_age": ("database", "dsn"), "process": ("process_name", "pidfile")}


@dataclass(frozen=True)
class CheckDef:
    """One configured check, with the ``[sla]`` defaults filled in."""

    name: str
    kind: str
    interval: float = 60.0
    timeout: float = 10.0
    severity: str = "medium"
    group: str = "default"
    target: float = 95.0
    failure_threshold: int = 3
    success_threshold: int = 2
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float | None:
        """The limit the check's value is compared with (for charts), or None."""
        key = {
            "file_age": "max_age",
            "sql_age": "max_delay",
            "http": "max_latency",
            "command": "max_duration",
            "disk": "max_pct",
            "heartbeat": "max_age",
        }.get(self.kind)
        if self.kind == "process":
            key = "max_rss_mb" if "max_rss_mb" in self.params else "max_cpu_pct"
        value = self.params.get(key) if key else None
        if self.kind == "heartbeat" and value is None:
            return self.interval
        return float(value) if value is not None else None

    @property
    def unit(self) -> str:
        return {"disk": "%", "process": "MB" if "max_rss_mb" in self.params else "%"}.get(
            self.kind, "s"
        )


def _fail(message: str, path: str, line: int | None) -> ConfigError:
    return ConfigError(message, path=path, line=line)


def _check_type(value: Any, kind: str) -> str | None:
    """None when ``value`` fits ``kind``, else what was expected."""
    if kind == "str":
        return None if isinstance(value, str) else "a string"
    if kind == "bool":
        return None if isinstance(value, bool) else "a boolean"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "a number"
    if kind == "duration":
        try:
            parse_duration(value)
        except ValueError:
            return 'a duration (seconds, or a string like "90s", "5m", "2h", "1d")'
        return None
    if kind == "cmd":
        if isinstance(value, str) and value.strip():
            return None
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return None
        return "a string or a non-empty array of strings"
    if kind == "scalar":
        return (
            None if isinstance(value, str | int | float | bool) else "a string, number or boolean"
        )
    raise AssertionError(kind)


def validate_checks(items: list[dict[str, Any]], locate: Locate, path: str) -> None:
    """Validate ``[[sla.checks]]``; raises ConfigError at the first bad field."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"sla.checks[{index}]"

        def line(key: str, _index: int = index) -> int | None:
            return locate(f"{_index}.{key}") or locate(str(_index))

        kind = item.get("kind")
        if "name" not in item:
            raise _fail(f"{where}: missing field 'name'", path, line("name"))
        if kind is None:
            raise _fail(f"{where}: missing field 'kind'", path, line("kind"))
        if kind not in KINDS:
            raise _fail(
                f"{where}.kind must be one of {', '.join(KINDS)}, not {kind!r}", path, line("kind")
            )
        allowed = {**{k: (t, False) for k, t in COMMON.items()}, **KIND_FIELDS[kind]}
        for key, value in item.items():
            if key not in allowed:
                raise _fail(f"{where}.{key}: unknown field for kind {kind}", path, line(key))
            expected = _check_type(value, allowed[key][0])
            if expected:
                raise _fail(f"{where}.{key} must be {expected}", path, line(key))
        for key, (_, required) in KIND_FIELDS[kind].items():
            if required and key not in item:
                raise _fail(f"{where}: kind {kind} needs field '{key}'", path, line("kind"))
        name = item["name"]
        if not _NAME.match(name):
            raise _fail(
                f"{where}.name must be 1-64 letters, digits or _.:- (got {name!r})",
                path,
                line("name"),
            )
        if name in seen:
            raise _fail(f"{where}.name {name!r} is used twice", path, line("name"))
        seen[name] = index
        _validate_values(item, kind, where, path, line)


def _validate_values(
    item: dict[str, Any], kind: str, where: str, path: str, line: Callable[[str], int | None]
) -> None:
    for key in ("interval", "timeout", "max_age", "max_delay", "max_latency", "max_duration"):
        if key in item and parse_duration(item[key]) <= 0:
            raise _fail(f"{where}.{key} must be greater than 0", path, line(key))
    for key in ("failure_threshold", "success_threshold"):
        if key in item and item[key] < 1:
            raise _fail(f"{where}.{key} must be at least 1", path, line(key))
    for key in ("target", "max_pct", "max_cpu_pct"):
        if key in item and not 0 < item[key] <= (100 if key != "max_cpu_pct" else 10_000):
            raise _fail(f"{where}.{key} must be a percentage above 0", path, line(key))
    if "max_rss_mb" in item and item["max_rss_mb"] <= 0:
        raise _fail(f"{where}.max_rss_mb must be greater than 0", path, line("max_rss_mb"))
    if "severity" in item and item["severity"] not in SEVERITIES:
        raise _fail(
            f"{where}.severity must be one of {', '.join(SEVERITIES)}, not {item['severity']!r}",
            path,
            line("severity"),
        )
    group = ONE_OF.get(kind)
    if group and sum(key in item for key in group) != 1:
        raise _fail(
            f"{where}: kind {kind} needs exactly one of {' or '.join(group)}", path, line("kind")
        )
    if kind == "sql_age":
        if item.get("returns", "timestamp") not in ("timestamp", "age"):
            raise _fail(f"{where}.returns must be 'timestamp' or 'age'", path, line("returns"))
        if "dsn" in item and not _has_postgres_driver():
            raise _fail(
                f"{where}.dsn: a PostgreSQL DSN needs the psycopg package "
                "(pip install 'psycopg[binary]'), which is not installed",
                path,
                line("dsn"),
            )
    if kind == "http":
        if not re.match(r"^https?://", item["url"]):
            raise _fail(f"{where}.url must start with http:// or https://", path, line("url"))
        if item.get("method", "GET").upper() not in ("GET", "HEAD"):
            raise _fail(f"{where}.method must be GET or HEAD", path, line("method"))
        if item.get("json_op", "==") not in JSON_OPS:
            raise _fail(
                f"{where}.json_op must be one of {', '.join(JSON_OPS)}", path, line("json_op")
            )
        needs_value = item.get("json_op", "==") != "exists"
        if "json_field" in item and needs_value and "json_value" not in item:
            raise _fail(f"{where}: json_field needs json_value", path, line("json_field"))
        if ("json_value" in item or "json_op" in item) and "json_field" not in item:
            raise _fail(f"{where}: json_value/json_op need json_field", path, line("json_value"))
    if kind == "command" and "stdout_match" in item:
        try:
            re.compile(item["stdout_match"])
        except re.error as exc:
            raise _fail(
                f"{where}.stdout_match is not a valid regular expression: {exc}",
                path,
                line("stdout_match"),
            ) from exc


def _has_postgres_driver() -> bool:
    return importlib.util.find_spec("psycopg") is not None


def load_checks(config: Any) -> list[CheckDef]:
    """The configured checks as :class:`CheckDef`, with ``[sla]`` defaults filled in."""
    sla = config.section("sla")
    checks = []
    for item in sla.get("checks", []):
        params = {k: v for k, v in item.items() if k not in COMMON}
        for key in ("max_age", "max_delay", "max_latency", "max_duration"):
            if key in params:
                params[key] = parse_duration(params[key])
        checks.append(
            CheckDef(
                name=item["name"],
                kind=item["kind"],
                interval=parse_duration(item.get("interval", sla.get("interval", 60.0))),
                timeout=parse_duration(item.get("timeout", sla.get("timeout", 10.0))),
                severity=item.get("severity", sla.get("severity", "medium")),
                group=item.get("group", "default"),
                target=float(item.get("target", sla.get("target", 95.0))),
                failure_threshold=int(
                    item.get("failure_threshold", sla.get("failure_threshold", 3))
                ),
                success_threshold=int(
                    item.get("success_threshold", sla.get("success_threshold", 2))
                ),
                description=item.get("description", ""),
                params=params,
            )
        )
    return checks
