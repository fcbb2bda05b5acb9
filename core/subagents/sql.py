"""Small helpers for statements inside a transaction.

A statement left open (half-read, or read across several thread hops while another coroutine
shares the connection) keeps an old read snapshot; the connection's next ``BEGIN IMMEDIATE`` then
fails at once with "database is locked", without waiting. So every read here runs and finishes in
one call on aiosqlite's thread (``execute_fetchall``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite


async def one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first row of ``sql`` (or None), with the cursor read to the end and closed."""
    found = await conn.execute_fetchall(sql, params)
    return next(iter(found), None)


async def all_rows(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return list(await conn.execute_fetchall(sql, params))


async def value(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row, or None."""
    row = await one(conn, sql, params)
    return None if row is None else row[0]
