"""``sql_age``: a query returning a timestamp (epoch or ISO 8601) or an age in seconds."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from typing import Any

from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration


def _query_sqlite(path: str, query: str, timeout: float) -> Any:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        raise CheckFailed(f"cannot open {path}: {exc}") from exc
    try:
        row = conn.execute(query).fetchone()
    except sqlite3.Error as exc:
        raise CheckFailed(f"query failed: {exc}") from exc
    finally:
        conn.close()
    return None if row is None else row[0]


def _query_postgres(
    dsn: str, query: str, timeout: float
) -> Any:  # pragma: no cover - needs psycopg
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=max(1, int(timeout))) as conn:
            row = conn.execute(query).fetchone()
    except psycopg.Error as exc:
        raise CheckFailed(f"query failed: {exc}") from exc
    return None if row is None else row[0]


def to_epoch(value: Any) -> float:
    """Epoch seconds (or milliseconds), a datetime, or an ISO 8601 string (naive = UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000 if value > 1e11 else float(value)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            return to_epoch(float(text))
        except ValueError:
            pass
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise CheckFailed(f"not a timestamp: {value!r}") from exc
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    raise CheckFailed(f"not a timestamp: {value!r}")


async def sql_age(check: CheckDef, ctx: CheckContext) -> Outcome:
    params = check.params
    if "dsn" in params:
        raw = await asyncio.to_thread(
            _query_postgres, params["dsn"], params["query"], check.timeout
        )
    else:
        path = ctx.resolve(params["database"])
        if not path.is_file():
            raise CheckFailed(f"no database file {path}")
        raw = await asyncio.to_thread(_query_sqlite, str(path), params["query"], check.timeout)
    if raw is None:
        raise CheckFailed("the query returned no value")
    if params.get("returns", "timestamp") == "age":
        try:
            age = float(raw)
        except (TypeError, ValueError) as exc:
            raise CheckFailed(f"not an age in seconds: {raw!r}") from exc
    else:
        age = max(0.0, ctx.clock() - to_epoch(raw))
    limit = params["max_delay"]
    verdict = "within" if age <= limit else "over"
    return Outcome(
        age <= limit, age, f"data is {format_duration(age)} old, {verdict} {format_duration(limit)}"
    )
