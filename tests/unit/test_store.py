import os
import sqlite3
import stat

import pytest

from controlroom.core.paths import default_db_path
from controlroom.core.store import Store
from controlroom.core.store.db import available_migrations, split_statements


def schema_of(path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return set(rows)


async def test_fresh_store_is_migrated_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "state.db"
    store = await Store.open(path)
    try:
        assert await store.schema_version() == available_migrations()[-1].version
        assert (await store.fetchval("PRAGMA journal_mode")).lower() == "wal"
        assert await store.fetchval("PRAGMA foreign_keys") == 1
        assert await store.fetchval("PRAGMA busy_timeout") >= 5000
    finally:
        await store.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("start", [m.version for m in available_migrations()])
async def test_migrates_from_every_earlier_version(tmp_path, start):
    reference = tmp_path / "reference.db"
    await (await Store.open(reference)).close()

    path = tmp_path / "old.db"
    old = await Store.open(path, migrate=False)
    assert await old.migrate(up_to=start) == start
    await old.close()

    upgraded = await Store.open(path)
    assert await upgraded.schema_version() == available_migrations()[-1].version
    await upgraded.close()
    assert schema_of(path) == schema_of(reference)


async def test_a_newer_store_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    from controlroom.core.errors import StoreError

    with pytest.raises(StoreError, match="newer than this controlroom knows"):
        await Store.open(path)


async def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    from controlroom.core.errors import StoreError

    with pytest.raises(StoreError, match="not usable"):
        await Store.open(path)


async def test_decision_log_is_append_only(store):
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT INTO tasks (fingerprint, state, priority, confidence, severity, rule, path, line,"
            " message, first_seen_commit, last_seen_commit, created_at, updated_at) VALUES "
            "('f', 'pending', 1, 0.5, 'low', 'R', 'a.py', 1, 'm', 'c', 'c', 0, 0)"
        )
        await conn.execute(
            "INSERT INTO decisions (at, task_id, from_state, to_state, actor) "
            "VALUES (0, 1, 'new', 'pending', 'system')"
        )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        await store.execute("UPDATE decisions SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        await store.execute("DELETE FROM decisions")
    assert await store.fetchval("SELECT count(*) FROM decisions") == 1


async def test_failed_transaction_rolls_back(store):
    with pytest.raises(RuntimeError):
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO events (at, kind) VALUES (0, 'x')")
            raise RuntimeError("boom")
    assert await store.fetchval("SELECT count(*) FROM events") == 0


def test_state_dir_hides_itself_from_git(tmp_path):
    path = default_db_path(tmp_path)
    assert path == tmp_path / ".controlroom" / "state.db"
    assert (tmp_path / ".controlroom" / ".gitignore").read_text() == "*\n"


def test_split_statements_keeps_triggers_whole():
    script = (
        "CREATE TABLE a (x);\n-- note\nCREATE TRIGGER t BEFORE DELETE ON a\nBEGIN SELECT 1; END;\n"
    )
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


async def test_cancelled_while_waiting_to_begin_leaves_no_open_transaction(store):
    import asyncio

    async def write():
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO events (at, kind) VALUES (0, 'never')")

    for _ in range(20):  # cancel at the first suspension point: while BEGIN is queued
        task = asyncio.create_task(write())
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await store.execute("INSERT INTO events (at, kind) VALUES (0, 'after')")
    assert not store.conn.in_transaction
    assert await store.fetchval("SELECT count(*) FROM events WHERE kind = 'after'") == 1
