"""A read-only store (``controlroom --read-only``): SQLite ``mode=ro``, never created nor migrated."""

from __future__ import annotations

import asyncio

import pytest

from controlroom.core.errors import ExitCode, StoreError
from controlroom.core.store import Store
from controlroom.core.store.db import available_migrations
from controlroom.tui.cli import main


async def test_reads_and_refuses_every_write(tmp_path):
    db = tmp_path / "state.db"
    store = await Store.open(db)
    await store.record_event("seeded")
    await store.close()
    viewer = await Store.open(db, read_only=True)
    try:
        assert viewer.read_only
        assert await viewer.fetchval("SELECT count(*) FROM events") == 1
        with pytest.raises(StoreError, match="open read-only"):
            await viewer.record_event("nope")
        assert await viewer.fetchval("SELECT count(*) FROM events") == 1
    finally:
        await viewer.close()


async def test_a_missing_store_is_not_created(tmp_path):
    db = tmp_path / "none" / "state.db"
    with pytest.raises(StoreError, match="open it once without --read-only"):
        await Store.open(db, read_only=True)
    assert not db.exists() and not db.parent.exists()


async def test_a_store_that_needs_migrating_is_not_migrated(tmp_path):
    db = tmp_path / "state.db"
    store = await Store.open(db, migrate=False)
    first = available_migrations()[0].version
    await store.migrate(up_to=first)
    await store.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match="needs migrating") as caught:
        await Store.open(db, read_only=True)
    assert "open it once without --read-only" in str(caught.value)
    assert db.read_bytes() == before
    store = await Store.open(db, migrate=False)
    assert await store.schema_version() == first
    await store.close()


async def _old_store(db) -> None:
    store = await Store.open(db, migrate=False)
    await store.migrate(up_to=available_migrations()[0].version)
    await store.close()


def test_the_command_says_so_in_one_line(tmp_path, repo, capsys):
    repo.commit({"a.py": "x = 1\n"})
    db = tmp_path / "state.db"
    asyncio.run(_old_store(db))
    code = main(["--repo", str(repo.path), "--db", str(db), "--read-only"])
    err = capsys.readouterr().err
    assert code == ExitCode.RUNTIME
    assert err.count("\n") == 1 and err.startswith("controlroom: error: ")
    assert "open it once without --read-only" in err
