"""Maintenance windows: one-off (start, end) or recurring (weekdays, start time, duration, IANA zone).

A window applies to every check, or only to those named in its ``checks`` list. Windows mute alerts
and keep their samples out of compliance; the checks keep running.

Recurring windows are defined in wall-clock time of their zone and last ``duration`` of elapsed
time. A start time that does not exist on a spring-forward day (02:30 when clocks jump from 02:00
to 03:00) is read with the offset before the jump, so it begins at 03:30 local time; an ambiguous
start on a fall-back day uses the first occurrence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from controlroom.core.errors import ConfigError
from controlroom.core.sla.durations import parse_duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
FIELDS = {"name", "checks", "start", "end", "weekdays", "at", "duration", "timezone"}


@dataclass(frozen=True)
class MaintenanceWindow:
    name: str
    checks: frozenset[str]  # empty: every check
    zone: ZoneInfo
    start: float | None = None  # one-off, epoch seconds
    end: float | None = None
    weekdays: frozenset[int] = frozenset(range(7))  # recurring: 0 = Monday
    at: dt.time | None = None
    duration: float = 0.0

    def applies_to(self, check: str) -> bool:
        return not self.checks or check in self.checks

    def active(self, now: float) -> bool:
        if self.start is not None and self.end is not None:
            return self.start <= now < self.end
        if self.at is None:
            return False
        local = dt.datetime.fromtimestamp(now, self.zone)
        # An occurrence that started up to `duration` ago may have begun on an earlier day.
        days_back = int(self.duration // 86400) + 1
        for back in range(days_back + 1):
            day = local.date() - dt.timedelta(days=back)
            if day.weekday() not in self.weekdays:
                continue
            begin = dt.datetime.combine(day, self.at, tzinfo=self.zone).timestamp()
            if begin <= now < begin + self.duration:
                return True
        return False


def is_muted(windows: Iterable[MaintenanceWindow], check: str, now: float) -> bool:
    return any(w.applies_to(check) and w.active(now) for w in windows)


def _instant(value: Any, zone: ZoneInfo) -> float:
    """A TOML datetime or ISO 8601 string as epoch seconds; naive values are in ``zone``."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return moment.timestamp()
    raise ValueError(f"not a date and time: {value!r}")


def parse_window(item: dict[str, Any], index: int = 0) -> MaintenanceWindow:
    """One ``[[sla.maintenance]]`` table; ValueError(field, message) when it is wrong."""
    for key in item:
        if key not in FIELDS:
            raise ValueError(key, "unknown field")
    try:
        zone = ZoneInfo(str(item.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("timezone", f"unknown IANA time zone {item.get('timezone')!r}") from None
    checks = item.get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        raise ValueError("checks", "must be an array of check names")
    name = str(item.get("name", f"window {index + 1}"))
    if "start" in item or "end" in item:
        if "start" not in item or "end" not in item:
            raise ValueError("start", "a one-off window needs both start and end")
        try:
            start, end = _instant(item["start"], zone), _instant(item["end"], zone)
        except ValueError as exc:
            raise ValueError("start", str(exc)) from None
        if end <= start:
            raise ValueError("end", "must be after start")
        return MaintenanceWindow(name, frozenset(checks), zone, start=start, end=end)
    if "at" not in item or "duration" not in item:
        raise ValueError("at", "needs start and end (one-off) or at and duration (recurring)")
    match = _TIME.match(str(item["at"]))
    if not match:
        raise ValueError("at", 'must be a time of day like "02:30"')
    try:
        duration = parse_duration(item["duration"])
    except ValueError:
        raise ValueError("duration", 'must be a duration like 3600 or "1h"') from None
    if duration <= 0:
        raise ValueError("duration", "must be greater than 0")
    days = item.get("weekdays", list(WEEKDAYS))
    if not isinstance(days, list) or not all(
        isinstance(d, str) and d.lower()[:3] in WEEKDAYS for d in days
    ):
        raise ValueError("weekdays", f"must be an array of {', '.join(WEEKDAYS)}")
    return MaintenanceWindow(
        name,
        frozenset(checks),
        zone,
        weekdays=frozenset(WEEKDAYS.index(d.lower()[:3]) for d in days),
        at=dt.time(int(match[1]), int(match[2])),
        duration=duration,
    )


def validate_windows(
    items: list[dict[str, Any]], locate: Callable[[str], int | None], path: str
) -> None:
    """The ``TABLE_ARRAYS["sla.maintenance"]`` validator."""
    for index, item in enumerate(items):
        try:
            parse_window(item, index)
        except ValueError as exc:
            key, message = exc.args if len(exc.args) == 2 else ("", str(exc))
            line = locate(f"{index}.{key}") or locate(str(index))
            raise ConfigError(
                f"sla.maintenance[{index}].{key} {message}", path=path, line=line
            ) from None


def load_windows(config: Any) -> list[MaintenanceWindow]:
    return [
        parse_window(item, i) for i, item in enumerate(config.section("sla").get("maintenance", []))
    ]
