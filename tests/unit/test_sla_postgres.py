"""``sql_age`` against the real PostgreSQL server on 127.0.0.1:5432 (database ``test``).

Skipped, with the reason, only when no server answers there. Each test works in a table of its
own and drops it."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlroom.core.sla.checks import CheckContext, execute
from controlroom.core.sla.definitions import CheckDef
from tests.unit.sla_support import Clock

psycopg = pytest.importorskip("psycopg", reason="psycopg (the PostgreSQL driver) is not installed")

DSN = os.environ.get("CONTROLROOM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable() -> str | None:
    try:
        with psycopg.connect(DSN, connect_timeout=2):
            return None
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())[:200]
        return f"PostgreSQL is not reachable at {DSN}: {reason}"


_WHY = _reachable()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=_WHY or "")


@pytest.fixture
def table() -> Iterator[str]:
    name = f"cr_events_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (loaded_at timestamptz, epoch double precision)")
    yield name
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def _insert(table: str, at: float) -> None:
    stamp = dt.datetime.fromtimestamp(at, tz=dt.UTC)
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (stamp, at))


def check(timeout: float = 5.0, **params) -> CheckDef:
    return CheckDef(name="pg", kind="sql_age", timeout=timeout, params={"dsn": DSN, **params})


def ctx(tmp_path: Path, clock=time.time) -> CheckContext:
    return CheckContext(tmp_path, clock, None)


@pytest.mark.parametrize("column", ["loaded_at", "epoch"])
async def test_postgres_timestamp_and_epoch_ages(tmp_path: Path, table: str, column: str) -> None:
    clock = Clock(1_800_000_000.0)
    _insert(table, clock.now - 120)
    c = check(query=f"SELECT max({column}) FROM {table}", max_delay=300)
    result = await execute(c, ctx(tmp_path, clock))
    assert result.status == "ok", result.message
    assert result.value == pytest.approx(120, abs=0.01)
    clock.advance(600)
    late = await execute(c, ctx(tmp_path, clock))
    assert late.status == "violated" and "over" in late.message


async def test_postgres_age_in_seconds_and_empty_table(tmp_path: Path, table: str) -> None:
    age = await execute(check(query="SELECT 42", returns="age", max_delay=30), ctx(tmp_path))
    assert (age.status, age.value) == ("violated", 42)
    empty = await execute(
        check(query=f"SELECT max(epoch) FROM {table}", max_delay=30), ctx(tmp_path)
    )
    assert empty.status == "error" and "no value" in empty.message


async def test_postgres_query_may_only_read(tmp_path: Path, table: str) -> None:
    c = check(query=f"INSERT INTO {table} VALUES (now(), 0) RETURNING epoch", max_delay=30)
    result = await execute(c, ctx(tmp_path))
    assert result.status == "error"
    assert "read-only" in result.message
    with psycopg.connect(DSN) as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


async def test_postgres_statement_timeout_ends_the_query(tmp_path: Path) -> None:
    """The check times out, and the server itself ends the query (statement_timeout), so no
    thread nor backend is left sleeping."""
    tag = uuid.uuid4().hex[:8]
    query = f"SELECT extract(epoch FROM now()) /* {tag} */ FROM pg_sleep(30)"
    result = await execute(check(timeout=1.0, query=query, max_delay=30), ctx(tmp_path))
    assert result.status == "timeout", result
    deadline = time.monotonic() + 10
    with psycopg.connect(DSN, autocommit=True) as conn:
        while True:
            running = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s"
                " AND pid <> pg_backend_pid()",
                (f"%{tag}%",),
            ).fetchone()[0]
            if running == 0:
                break
            assert time.monotonic() < deadline, "the query still runs on the server"
            conn.execute("SELECT pg_sleep(0.05)")


async def test_postgres_bad_query_and_unknown_database(tmp_path: Path) -> None:
    bad = await execute(
        check(query="SELECT nope FROM missing_table_x", max_delay=30), ctx(tmp_path)
    )
    assert bad.status == "error" and "missing_table_x" in bad.message
    gone = CheckDef(
        name="pg",
        kind="sql_age",
        timeout=3.0,
        params={
            "dsn": psycopg.conninfo.make_conninfo(DSN, dbname="no_such_db_cr"),
            "query": "SELECT 1",
            "max_delay": 5,
        },
    )
    absent = await execute(gone, ctx(tmp_path))
    assert absent.status == "error" and "no_such_db_cr" in absent.message
