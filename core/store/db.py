"""Connection, pragmas, transactions and forward-only migrations of the SQLite store."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from controlroom.core.errors import StoreError


def _busy_timeout_ms(default: int = 30_000) -> int:
    """How long a write waits for another process's lock (CONTROLROOM_BUSY_TIMEOUT_MS overrides)."""
    try:
        return max(0, min(int(os.environ.get("CONTROLROOM_BUSY_TIMEOUT_MS") or default), 3_600_000))
    except ValueError:
        return default


BUSY_TIMEOUT_MS = _busy_timeout_ms()
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files("controlroom.core.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a number: {versions}")
    return found


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers with BEGIN ... END stay whole)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def _create_private_file(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


async def _connect_read_only(path: Path) -> aiosqlite.Connection:
    """A ``mode=ro`` connection; a missing file is an error, never created."""
    if not path.is_file():
        raise StoreError(f"no store at {path}: open it once without --read-only")
    uri = path.resolve().as_uri() + "?mode=ro"
    return await aiosqlite.connect(
        uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )


class Store:
    """An open store. Reads may run any time; writes go through :meth:`transaction`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self._write_lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    async def open(
        cls, path: Path | str, *, migrate: bool = True, read_only: bool = False
    ) -> Store:
        """Open (and migrate) the store. ``read_only`` opens the file with SQLite's
        ``mode=ro``: nothing is created or migrated, and every write raises StoreError."""
        path = Path(path)
        try:
            if read_only:
                conn = await _connect_read_only(path)
            else:
                _create_private_file(path)
                conn = await aiosqlite.connect(
                    path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
                )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        store = cls(conn, path, read_only=read_only)
        try:
            await store._configure()
            if read_only:
                await store._check_current()
            elif migrate:
                await store.migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"the store {path} is not usable: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return store

    async def _configure(self) -> None:
        await self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # A read-only connection only checks the mode (WAL is persistent in the file).
        mode = await self.fetchval("PRAGMA journal_mode" + ("" if self.read_only else " = WAL"))
        if str(mode).lower() != "wal":
            raise StoreError(f"the store {self.path} could not switch to WAL (got {mode})")
        await self.conn.execute("PRAGMA synchronous = NORMAL")
        await self.conn.execute("PRAGMA foreign_keys = ON")

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- migrations ------------------------------------------------------------------------------
    async def schema_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version") or 0)

    async def _check_current(self) -> None:
        """A read-only store must already be at this controlroom's schema version."""
        migrations = available_migrations()
        latest = migrations[-1].version if migrations else 0
        current = await self.schema_version()
        if current > latest:
            raise StoreError(
                f"the store {self.path} has schema version {current}, newer than this "
                f"controlroom knows ({latest}): upgrade controlroom"
            )
        if current < latest:
            raise StoreError(
                f"the store {self.path} needs migrating (schema {current}, this controlroom "
                f"uses {latest}): open it once without --read-only"
            )

    async def migrate(self, *, up_to: int | None = None) -> int:
        """Apply every pending migration, each in its own transaction. Returns the new version."""
        migrations = available_migrations()
        latest = migrations[-1].version if migrations else 0
        target = latest if up_to is None else up_to
        current = await self.schema_version()
        if current > latest:
            raise StoreError(
                f"the store {self.path} has schema version {current}, newer than this "
                f"controlroom knows ({latest}): upgrade controlroom"
            )
        for migration in migrations:
            if current >= migration.version or migration.version > target:
                continue
            async with self.transaction() as conn:
                # Another process may have migrated while we waited for the write lock.
                if await self.schema_version() >= migration.version:
                    continue
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {migration.version}")
            current = migration.version
        return await self.schema_version()

    # -- queries ---------------------------------------------------------------------------------
    async def fetchall(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[sqlite3.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        rows = list(await self.conn.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction. ``BEGIN IMMEDIATE`` takes the write lock up front, so two
        processes never deadlock upgrading a read lock; the busy timeout makes them queue."""
        if self.read_only:
            raise StoreError(f"the store {self.path} is open read-only: nothing can be changed")
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
            except BaseException:
                # Also when cancelled while BEGIN was queued: aiosqlite runs requests in order, so
                # this rollback (a no-op outside a transaction) always follows the BEGIN, and the
                # shared connection is never left inside a transaction.
                await asyncio.shield(self.conn.rollback())
                raise
            else:
                await asyncio.shield(self.conn.execute("COMMIT"))

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement in its own transaction; returns lastrowid."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.lastrowid or 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    # -- small shared tables ---------------------------------------------------------------------
    async def record_event(self, kind: str, payload: dict[str, Any] | None = None) -> int:
        return await self.execute(
            "INSERT INTO events (at, kind, payload_json) VALUES (?, ?, ?)",
            (time.time(), kind, json.dumps(payload or {}, default=str)),
        )

    async def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap 'did anything change?' probe."""
        return int(await self.fetchval("PRAGMA data_version"))


async def open_store(path: Path | str) -> Store:
    return await Store.open(path)
