"""Maintenance windows: one-off and recurring, IANA time zones, DST edges, per-check scope."""

from __future__ import annotations

import datetime as dt

from controlroom.core.sla.maintenance import is_muted, parse_window


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_recurring_window_follows_its_time_zone_weekday() -> None:
    # Monday 23:00 in Los Angeles (PST, UTC-8) is Tuesday 07:00 UTC.
    window = parse_window(
        {"weekdays": ["mon"], "at": "23:00", "duration": "2h", "timezone": "America/Los_Angeles"}
    )
    assert window.active(utc(2026, 1, 13, 7, 30))  # Tue 07:30 UTC = Mon 23:30 PST
    assert not window.active(utc(2026, 1, 12, 23, 30))  # Mon 23:30 UTC = Mon 15:30 PST
    assert window.active(utc(2026, 1, 13, 8, 59))  # runs past local midnight into Tuesday
    assert not window.active(utc(2026, 1, 13, 9, 0))
    assert not window.active(utc(2026, 1, 14, 7, 30))  # Wed 07:30 UTC = Tue 23:30 PST


def test_spring_forward_nonexistent_start_begins_after_the_jump() -> None:
    # New York, 2026-03-08: clocks jump 02:00 -> 03:00, so 02:30 does not exist that day.
    window = parse_window({"at": "02:30", "duration": "1h", "timezone": "America/New_York"})
    # That day the window starts at 02:30 EST = 07:30 UTC (03:30 EDT), for one hour.
    assert not window.active(utc(2026, 3, 8, 6, 45))
    assert window.active(utc(2026, 3, 8, 7, 45))
    assert not window.active(utc(2026, 3, 8, 8, 31))
    # The day after, 02:30 EDT = 06:30 UTC.
    assert window.active(utc(2026, 3, 9, 6, 45))
    assert not window.active(utc(2026, 3, 9, 7, 45))
    # The day before, 02:30 EST = 07:30 UTC.
    assert window.active(utc(2026, 3, 7, 7, 45))


def test_fall_back_duration_is_elapsed_time() -> None:
    # Berlin, 2026-10-25: 03:00 CEST -> 02:00 CET. A 2 h window from 01:30 CEST (23:30 UTC)
    # ends at 01:30 UTC (02:30 CET, the second pass), not at 03:30 wall-clock time.
    window = parse_window({"at": "01:30", "duration": "2h", "timezone": "Europe/Berlin"})
    assert window.active(utc(2026, 10, 24, 23, 45))
    assert window.active(utc(2026, 10, 25, 1, 15))
    assert not window.active(utc(2026, 10, 25, 1, 45))


def test_one_off_window_naive_times_are_in_its_zone() -> None:
    window = parse_window(
        {
            "start": dt.datetime(2026, 12, 5, 22, 0),
            "end": "2026-12-06T04:00:00",
            "timezone": "America/New_York",
        }
    )
    assert window.active(utc(2026, 12, 6, 3, 30))  # 22:30 EST
    assert not window.active(utc(2026, 12, 5, 22, 30))  # 17:30 EST
    assert not window.active(utc(2026, 12, 6, 9, 0))  # 04:00 EST: the end is exclusive


def test_per_check_and_global_scope() -> None:
    scoped = parse_window({"at": "00:00", "duration": "1d", "checks": ["db"]})
    everything = parse_window(
        {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"}
    )
    now = utc(2026, 6, 1, 12)
    assert is_muted([scoped], "db", now)
    assert not is_muted([scoped], "api", now)
    assert is_muted([everything], "api", utc(2026, 1, 1, 12))
    assert not is_muted([everything], "api", now)
