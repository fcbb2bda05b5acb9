"""``sql_age``: a query returning a timestamp (epoch or ISO 8601) or an age in seconds.

SQLite is opened read-only through a URI; an authorizer lets the query read and nothing else
(no ATTACH, no writes, no PRAGMA), and a progress handler stops it at the check's timeout.
PostgreSQL runs the query in a read-only transaction with ``statement_timeout``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
import urllib.parse
from typing import Any

from controlroom.core.sla.checks.base import CheckContext, CheckFailed, Outcome
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.durations import format_duration

# What a check's query may do: read. Everything else (ATTACH, DETACH, writes, schema changes,
# PRAGMA, transactions) is refused by the authorizer.
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
PROGRESS_STEPS = 1000  # SQLite instructions between deadline checks


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action not in _ALLOWED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _open_sqlite(path: str, timeout: float) -> sqlite3.Connection:
    """``path`` read-only (a URI, so no file is created), queries limited to reading."""
    uri = f"file:{urllib.parse.quote(path)}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CheckFailed(f"cannot open {path}: {exc}") from exc
    conn.set_authorizer(_authorize)
    return conn


def _refused(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_AUTH or "not authorized" in str(exc)


def _query_sqlite(conn: sqlite3.Connection, query: str, deadline: float) -> Any:
    """The first value of ``query``; TimeoutError once the monotonic ``deadline`` passes."""
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
    try:
        row = conn.execute(query).fetchone()
    except sqlite3.DatabaseError as exc:
        if time.monotonic() > deadline or "interrupted" in str(exc):
            raise TimeoutError("the query ran past its timeout") from exc
        if _refused(exc):
            raise CheckFailed(f"query refused: only reading is allowed ({exc})") from exc
        raise CheckFailed(f"query failed: {exc}") from exc
    finally:
        conn.close()
    return None if row is None else row[0]


async def _sqlite_value(path: str, query: str, timeout: float) -> Any:
    """Run the query in a thread that ends by the deadline; cancelling interrupts it at once."""
    deadline = time.monotonic() + timeout
    conn = _open_sqlite(path, timeout)
    try:
        return await asyncio.to_thread(_query_sqlite, conn, query, deadline)
    except asyncio.CancelledError:
        with contextlib.suppress(sqlite3.Error):  # already closed: the worker finished
            conn.interrupt()  # thread-safe: the worker's query stops at its next step
        raise


def _query_postgres(dsn: str, query: str, timeout: float) -> Any:
    """A read-only transaction with a server-side statement timeout, so the thread ends."""
    import psycopg

    limit_ms = max(1, int(timeout * 1000))
    options = f"-c statement_timeout={limit_ms} -c default_transaction_read_only=on"
    try:
        with psycopg.connect(
            dsn, connect_timeout=max(1, int(timeout)), options=options, autocommit=False
        ) as conn:
            conn.read_only = True
            row = conn.execute(query).fetchone()
            conn.rollback()
    except psycopg.errors.QueryCanceled as exc:
        raise TimeoutError("the query ran past its timeout") from exc
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
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return moment.timestamp()
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
        raw = await _sqlite_value(str(path), params["query"], check.timeout)
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
