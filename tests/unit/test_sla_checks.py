"""Each check kind against real local things: files, SQLite, HTTP, commands, processes, disks."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from controlroom.core.sla.checks import CheckContext, execute
from controlroom.core.sla.definitions import CheckDef
from controlroom.core.sla.heartbeats import record_ping
from tests.unit.sla_support import Clock, http_server, sla_config


def ctx(tmp_path: Path, clock=time.time, store=None) -> CheckContext:
    return CheckContext(tmp_path, clock, store)


def check(kind: str, timeout: float = 5.0, **params) -> CheckDef:
    return CheckDef(name=f"c-{kind}", kind=kind, timeout=timeout, params=params)


# -- file_age --------------------------------------------------------------------------------
async def test_file_age_uses_the_newest_matching_file(tmp_path: Path) -> None:
    clock = Clock()
    (tmp_path / "out").mkdir()
    old, new = tmp_path / "out" / "a.csv", tmp_path / "out" / "b.csv"
    old.write_text("x")
    new.write_text("y")
    os.utime(old, (clock.now - 7200, clock.now - 7200))
    os.utime(new, (clock.now - 600, clock.now - 600))
    result = await execute(check("file_age", path="out/*.csv", max_age=900), ctx(tmp_path, clock))
    assert result.status == "ok"
    assert result.value == pytest.approx(600)
    assert result.threshold == 900
    os.utime(new, (clock.now - 1000, clock.now - 1000))
    stale = await execute(check("file_age", path="out/*.csv", max_age=900), ctx(tmp_path, clock))
    assert stale.status == "violated"
    assert "b.csv" in stale.message


async def test_file_age_without_a_match_is_an_error(tmp_path: Path) -> None:
    result = await execute(check("file_age", path="none/*.csv", max_age=60), ctx(tmp_path))
    assert result.status == "error"
    assert "no file matches" in result.message
    assert not result.ok


# -- sql_age ---------------------------------------------------------------------------------
def _warehouse(tmp_path: Path, loaded_at) -> Path:
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS events (loaded_at)")
        conn.execute("DELETE FROM events")
        conn.execute("INSERT INTO events VALUES (?)", (loaded_at,))
    return path


@pytest.mark.parametrize(
    ("stored", "expected_age"),
    [
        (1_800_000_000.0 - 120, 120),
        ("2027-01-15T07:58:00Z", 120),
        (1_800_000_000_000 - 120_000, 120),
    ],
)
async def test_sql_age_reads_timestamps(tmp_path: Path, stored, expected_age) -> None:
    clock = Clock(1_800_000_000.0)  # 2027-01-15T08:00:00Z
    _warehouse(tmp_path, stored)
    c = check(
        "sql_age", database="warehouse.db", query="SELECT max(loaded_at) FROM events", max_delay=300
    )
    result = await execute(c, ctx(tmp_path, clock))
    assert result.status == "ok", result.message
    assert result.value == pytest.approx(expected_age)
    clock.advance(600)
    assert (await execute(c, ctx(tmp_path, clock))).status == "violated"


async def test_sql_age_returns_age_and_reports_bad_queries(tmp_path: Path) -> None:
    _warehouse(tmp_path, 0)
    age = check("sql_age", database="warehouse.db", query="SELECT 42", returns="age", max_delay=30)
    result = await execute(age, ctx(tmp_path))
    assert (result.status, result.value) == ("violated", 42)
    bad = check("sql_age", database="warehouse.db", query="SELECT nope FROM missing", max_delay=30)
    failed = await execute(bad, ctx(tmp_path))
    assert failed.status == "error" and "no such table" in failed.message
    absent = check("sql_age", database="absent.db", query="SELECT 1", max_delay=30)
    assert (await execute(absent, ctx(tmp_path))).status == "error"


# -- http ------------------------------------------------------------------------------------
async def test_http_ok_json_condition_and_500(tmp_path: Path) -> None:
    with http_server(json={"status": "ok", "lag": 3, "items": [{"id": 7}]}) as server:
        url = server.url + "/health"
        ok = await execute(
            check("http", url=url, json_field="status", json_value="ok"), ctx(tmp_path)
        )
        assert ok.status == "ok", ok.message
        lag = check("http", url=url, json_field="lag", json_op="<", json_value=2)
        result = await execute(lag, ctx(tmp_path))
        assert result.status == "violated" and "lag is 3" in result.message
        item = check("http", url=url, json_field="items.0.id", json_op="==", json_value=7)
        assert (await execute(item, ctx(tmp_path))).status == "ok"
        head = await execute(check("http", url=url, method="HEAD"), ctx(tmp_path))
        assert head.status == "ok"
        server.behaviour["status"] = 500
        failed = await execute(check("http", url=url), ctx(tmp_path))
        assert failed.status == "violated" and "HTTP 500" in failed.message
        expected = await execute(check("http", url=url, expect_status=500), ctx(tmp_path))
        assert expected.status == "ok"


async def test_http_slow_server_breaks_latency_and_timeout(tmp_path: Path) -> None:
    with http_server(delay=0.3) as server:
        slow = await execute(check("http", url=server.url, max_latency=0.1), ctx(tmp_path))
        assert slow.status == "violated"
        assert slow.value is not None and slow.value >= 0.3
        server.behaviour["delay"] = 5
        hung = await execute(check("http", timeout=0.2, url=server.url), ctx(tmp_path))
        assert hung.status in ("timeout", "error")
        assert hung.duration_s < 2


async def test_http_refused_connection_is_an_error(tmp_path: Path) -> None:
    with http_server() as server:
        url = server.url
    result = await execute(check("http", url=url), ctx(tmp_path))
    assert result.status == "error"


# -- command ---------------------------------------------------------------------------------
async def test_command_exit_codes_stdout_and_duration(tmp_path: Path) -> None:
    py = sys.executable
    ok = await execute(
        check("command", command=[py, "-c", "print('rows=12')"], stdout_match=r"rows=\d+"),
        ctx(tmp_path),
    )
    assert ok.status == "ok", ok.message
    failing = await execute(
        check(
            "command", command=[py, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]
        ),
        ctx(tmp_path),
    )
    assert (
        failing.status == "violated" and "exited 3" in failing.message and "boom" in failing.message
    )
    mismatch = await execute(
        check("command", command=[py, "-c", "print('rows=')"], stdout_match=r"rows=\d+"),
        ctx(tmp_path),
    )
    assert mismatch.status == "violated"
    slow = await execute(
        check("command", command=[py, "-c", "import time; time.sleep(0.3)"], max_duration=0.1),
        ctx(tmp_path),
    )
    assert slow.status == "violated" and "over" in slow.message
    missing = await execute(check("command", command="no-such-program-xyz"), ctx(tmp_path))
    assert missing.status == "error"


async def test_command_without_shell_does_not_expand(tmp_path: Path) -> None:
    plain = await execute(
        check("command", command="echo $HOME", stdout_match=r"\$HOME"), ctx(tmp_path)
    )
    assert plain.status == "ok", plain.message
    shell = await execute(
        check("command", command="echo $((2+3)) | cat", shell=True, stdout_match="^5$"),
        ctx(tmp_path),
    )
    assert shell.status == "ok", shell.message


async def test_command_timeout_kills_the_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {marker}; wait"
    result = await execute(check("command", timeout=0.5, command=script, shell=True), ctx(tmp_path))
    assert result.status == "timeout"
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and time.monotonic() < deadline:
        proc = psutil.Process(child)
        if proc.status() == psutil.STATUS_ZOMBIE:
            break
        await asyncio.sleep(0.02)  # another process dying: bounded poll
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


# -- process ---------------------------------------------------------------------------------
async def test_process_by_pidfile_and_name(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / "app.pid").write_text(f"{proc.pid}\n")
        by_pid = await execute(check("process", pidfile="app.pid"), ctx(tmp_path))
        assert by_pid.status == "ok", by_pid.message
        by_name = await execute(check("process", process_name="sleep"), ctx(tmp_path))
        assert by_name.status == "ok"
        tiny = await execute(check("process", pidfile="app.pid", max_rss_mb=0.001), ctx(tmp_path))
        assert tiny.status == "violated" and "MB" in tiny.message
        cpu = await execute(check("process", pidfile="app.pid", max_cpu_pct=50), ctx(tmp_path))
        assert cpu.status == "ok"
    finally:
        proc.kill()
        proc.wait()
    gone = await execute(check("process", pidfile="app.pid"), ctx(tmp_path))
    assert gone.status == "violated" and "no running process" in gone.message
    nobody = await execute(check("process", process_name="no-such-process-xyz"), ctx(tmp_path))
    assert nobody.status == "violated"


# -- disk ------------------------------------------------------------------------------------
async def test_disk_usage_against_max_pct(tmp_path: Path) -> None:
    used = psutil.disk_usage(str(tmp_path)).percent
    fine = await execute(check("disk", path=".", max_pct=100), ctx(tmp_path))
    assert fine.status == "ok" and fine.value == pytest.approx(used, abs=1)
    if used > 0.01:
        full = await execute(check("disk", path=".", max_pct=used / 2), ctx(tmp_path))
        assert full.status == "violated"
    missing = await execute(check("disk", path="nowhere/at/all", max_pct=50), ctx(tmp_path))
    assert missing.status == "error"


# -- heartbeat -------------------------------------------------------------------------------
async def test_heartbeat_pings(tmp_path: Path, store) -> None:
    clock = Clock()
    config = sla_config(
        tmp_path, '[[sla.checks]]\nname = "nightly"\nkind = "heartbeat"\nmax_age = "1h"\n'
    )
    beat = CheckDef("nightly", "heartbeat", params={"max_age": 3600.0})
    never = await execute(beat, ctx(tmp_path, clock, store))
    assert never.status == "violated" and "no ping yet" in never.message
    await record_ping(store, config, "nightly", now=clock.now - 60)
    assert (await execute(beat, ctx(tmp_path, clock, store))).status == "ok"
    clock.advance(3600)
    late = await execute(beat, ctx(tmp_path, clock, store))
    assert late.status == "violated" and late.value == pytest.approx(3660)
    await record_ping(store, config, "nightly", now=clock.now)
    assert await store.fetchval("SELECT pings FROM sla_heartbeats") == 2
    from controlroom.core.errors import UsageError

    with pytest.raises(UsageError, match="no heartbeat SLA check named other"):
        await record_ping(store, config, "other")
