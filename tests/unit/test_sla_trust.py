"""Hostile SLA checks: secrets never reach the store or a webhook, deadlines end the work (HTTP
bodies dripped a byte at a time, trickling webhooks, runaway queries), output stays bounded and
no process of a check outlives it."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from controlroom.core import secrets
from controlroom.core.sla.checks import CheckContext, execute
from controlroom.core.sla.checks.command import KEEP_BYTES, TAIL_BYTES
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.monitor import SlaMonitor, SlaSettings
from controlroom.core.sla.webhook import deliver
from controlroom.core.store import Store
from tests.unit.sla_support import drip_server, http_server, sla_config

KEY = "sk-ant-test-secret-123"
PY = sys.executable


def ctx(tmp_path: Path) -> CheckContext:
    return CheckContext(tmp_path, time.time, None)


def check(kind: str, timeout: float = 5.0, **params) -> CheckDef:
    return CheckDef(name=f"c-{kind}", kind=kind, timeout=timeout, params=params)


def gone_within(pid: int, seconds: float) -> bool:
    """True once ``pid`` no longer runs (absent or a zombie): a bounded poll of another process."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


# -- the secrets module ----------------------------------------------------------------------
def test_child_env_drops_secrets_and_the_agent_socket(monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_abcdefghijkl")
    monkeypatch.setenv("DB_PASSWORD", "hunter2hunter2")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    monkeypatch.setenv("WAREHOUSE_DSN", "postgres://u:pw@db/x")
    monkeypatch.setenv("HARMLESS", "value")
    monkeypatch.setattr(secrets, "_configured", set())
    secrets.configure(sla_config_like({"security": {"secret_env": ["WAREHOUSE_DSN"]}}))
    env = secrets.child_env({"NO_COLOR": "1"})
    for name in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "SSH_AUTH_SOCK"):
        assert name not in env
    assert "WAREHOUSE_DSN" not in env
    assert env["HARMLESS"] == "value" and env["NO_COLOR"] == "1"
    text = f"key {KEY}, token ghp_abcdefghijkl, dsn postgres://u:pw@db/x, value"
    assert secrets.redact(text) == "key [redacted], token [redacted], dsn [redacted], value"


def sla_config_like(data: dict):
    from controlroom.core.config import Config

    return Config(data)


def test_redact_leaves_short_values_and_ordinary_text(monkeypatch) -> None:
    monkeypatch.setenv("SHORT_TOKEN", "abc")
    assert secrets.redact("abc is fine") == "abc is fine"
    assert secrets.redact("a key sk-ant-api03-ZZZZZZZZZZZZ seen") == "a key [redacted] seen"


# -- secrets through a command check ---------------------------------------------------------
async def test_a_command_check_never_leaks_the_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with http_server() as receiver:
        config = sla_config(
            tmp_path,
            f"""
[sla]
webhook_url = "{receiver.url}/hook"
[[sla.checks]]
name = "leaky"
kind = "command"
shell = true
failure_threshold = 1
command = 'echo "env:${{ANTHROPIC_API_KEY:-absent}}" >&2; echo "said:{KEY}" >&2; exit 1'
""",
        )
        store = await Store.open(tmp_path / "state.db")
        try:
            monitor = SlaMonitor(store, SlaSettings.from_config(config), base_dir=tmp_path)
            result = await monitor.run_check(monitor.settings.checks[0])
            await monitor.drain(timeout=10)
        finally:
            await store.close()
        assert result.status == "violated"
        assert "said:[redacted]" in result.message  # printed by the command: redacted
        body = receiver.received[0]
        assert KEY not in str(body) and "[redacted]" in body["text"]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert b"said:[redacted]" in stored and KEY.encode() not in stored


async def test_the_command_child_gets_no_secrets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    script = "import os; print(sorted(k for k in os.environ if 'ANTHROPIC' in k or 'SSH_A' in k))"
    result = await execute(
        check("command", command=[PY, "-c", script], stdout_match=r"^\[\]$"), ctx(tmp_path)
    )
    assert result.status == "ok", result.message


# -- commands: bounded output, no survivors --------------------------------------------------
async def test_a_flood_of_output_is_read_but_not_kept(tmp_path: Path) -> None:
    flood = "head -c 100000000 /dev/zero; echo END"
    c = check("command", timeout=60, command=flood, shell=True, stdout_match="END")
    result = await execute(c, ctx(tmp_path))
    assert result.status == "ok", result.message  # the tail is kept: END is seen
    noisy = "head -c 50000000 /dev/zero >&2; printf '\\nlast words\\n' >&2; exit 2"
    failed = await execute(check("command", timeout=60, command=noisy, shell=True), ctx(tmp_path))
    assert failed.status == "violated" and failed.message == "exited 2: last words"
    assert KEEP_BYTES + TAIL_BYTES < 100_000


async def test_a_background_grandchild_dies_with_its_check(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    script = f"sleep 300 >/dev/null 2>&1 & echo $! > {marker}; exit 0"
    result = await execute(check("command", command=script, shell=True), ctx(tmp_path))
    assert result.status == "ok"
    assert gone_within(int(marker.read_text()), 5)


async def test_a_grandchild_holding_the_pipe_does_not_hold_the_check(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {marker}; echo done"
    started = time.monotonic()
    result = await execute(
        check("command", timeout=20, command=script, shell=True, stdout_match="done"),
        ctx(tmp_path),
    )
    assert result.status == "ok" and time.monotonic() - started < 10
    assert gone_within(int(marker.read_text()), 5)


# -- HTTP and webhooks: a total deadline -----------------------------------------------------
async def test_a_dripped_http_body_ends_at_the_deadline(tmp_path: Path) -> None:
    with drip_server(interval=0.2, size=300) as server:
        started = time.monotonic()
        result = await execute(check("http", timeout=1.0, url=server.url), ctx(tmp_path))
        assert time.monotonic() - started < 3
        assert result.status == "timeout"
        # The connection itself was dropped at the deadline, not left to a thread to finish.
        assert await asyncio.to_thread(server.gone.wait, 5)


async def test_a_trickling_webhook_ends_at_its_deadline() -> None:
    with drip_server(interval=0.2, size=300) as server:
        started = time.monotonic()
        delivery = await asyncio.wait_for(
            deliver(server.url, {"text": "hi"}, retries=0, timeout=1.0), 10
        )
        assert time.monotonic() - started < 3
        assert not delivery.ok and delivery.error == "no answer within 1s"
        assert server.received == [b'{"text": "hi"}']
        assert await asyncio.to_thread(server.gone.wait, 5)


# -- SQL: read-only, refused statements, a deadline ------------------------------------------
def _database(tmp_path: Path) -> Path:
    import sqlite3

    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (loaded_at)")
        conn.execute("INSERT INTO events VALUES (1)")
    conn.close()
    return path


@pytest.mark.parametrize(
    "query",
    [
        "ATTACH DATABASE '{target}' AS x",
        "ATTACH DATABASE 'file:{target}?mode=rwc' AS x",
        "VACUUM INTO '{target}'",
        "PRAGMA journal_mode = WAL",
    ],
)
async def test_sql_may_only_read(tmp_path: Path, query: str) -> None:
    _database(tmp_path)
    target = tmp_path / "created.db"
    c = check("sql_age", database="warehouse.db", query=query.format(target=target), max_delay=60)
    result = await execute(c, ctx(tmp_path))
    assert result.status == "error"
    assert "refused" in result.message or "not authorized" in result.message, result.message
    assert not target.exists()


async def test_a_runaway_recursive_query_stops_at_the_timeout(tmp_path: Path) -> None:
    _database(tmp_path)
    runaway = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    started = time.monotonic()
    result = await execute(
        check("sql_age", timeout=0.5, database="warehouse.db", query=runaway, max_delay=60),
        ctx(tmp_path),
    )
    assert result.status == "timeout"
    assert time.monotonic() - started < 2
    assert query_threads_end_within(3)  # the query stopped, not only the wait for it


def query_threads_end_within(seconds: float, function: str = "_query_sqlite") -> bool:
    """True once no thread of this process is inside ``function`` (the query) any more."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        running = [
            frame
            for frame in sys._current_frames().values()
            if any(f.f_code.co_name == function for f in _stack(frame))
        ]
        if not running:
            return True
        time.sleep(0.02)
    return False


def _stack(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


# -- SQL on PostgreSQL (127.0.0.1, trust auth; only where psycopg is installed) ---------------
PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


def _postgres():
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(PG_DSN, connect_timeout=2).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    return psycopg


async def test_postgres_queries_are_read_only_and_stop_at_the_timeout(tmp_path: Path) -> None:
    psycopg = _postgres()
    table = f"controlroom_sla_probe_{os.getpid()}"
    write = f"CREATE TABLE {table} AS SELECT now() AS t"
    refused = await execute(check("sql_age", dsn=PG_DSN, query=write, max_delay=60), ctx(tmp_path))
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        created = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    assert refused.status == "error" and "read-only" in refused.message
    assert created is None
    started = time.monotonic()
    slow = await execute(
        check("sql_age", timeout=1.0, dsn=PG_DSN, query="SELECT pg_sleep(30)", max_delay=60),
        ctx(tmp_path),
    )
    assert slow.status == "timeout" and time.monotonic() - started < 3
    assert query_threads_end_within(3, "_query_postgres")


async def test_a_grandchild_in_its_own_session_dies_at_the_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True); "
        f"open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(300)"
    )
    result = await execute(check("command", timeout=3.0, command=[PY, "-c", script]), ctx(tmp_path))
    assert result.status == "timeout"
    assert gone_within(int(marker.read_text()), 5)


def test_git_children_see_no_secrets(repo, monkeypatch) -> None:
    from controlroom.core.git import GitRepository

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    repo.commit({"a.py": "x = 1\n"}, "one")
    git_repo = GitRepository(repo.path)
    try:
        # Through GitPython, as the repository object runs git: a shell alias prints its env.
        shown = git_repo._repo.git.execute(
            ["git", "-c", "alias.envdump=!env", "envdump"], with_extended_output=False
        )
    finally:
        git_repo.close()
    assert KEY not in shown
