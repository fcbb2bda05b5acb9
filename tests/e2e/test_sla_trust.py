"""The real ``controlroom`` command with hostile SLA checks: the key never leaves (stdout, store,
webhook), timed-out checks do not keep the command alive, a flood of output stays out of memory."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.cli import CONTROLROOM, cli_env, run
from tests.unit.sla_support import drip_server, http_server

KEY = "sk-ant-test-secret-123"
RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"


def workspace(repo, tmp_path: Path, checks: str) -> list[str]:
    """The options that point the command at ``repo``, a store in tmp_path and an operator's
    config file (outside the repository) holding ``checks``."""
    repo.commit({"app.py": "x = 1\n"}, "one")
    config = tmp_path / "ops.toml"
    config.write_text(checks, encoding="utf-8")
    return ["--repo", str(repo.path), "--db", str(tmp_path / "state.db"), "--config", str(config)]


def stored_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))


def test_the_key_printed_by_a_command_check_never_leaves(repo, tmp_path: Path) -> None:
    with http_server() as receiver:
        options = workspace(
            repo,
            tmp_path,
            f"""
[sla]
webhook_url = "{receiver.url}/hook"
webhook_retries = 0

[[sla.checks]]
name = "leaky"
kind = "command"
shell = true
failure_threshold = 1
severity = "critical"
command = 'echo "env:${{ANTHROPIC_API_KEY:-absent}} said:{KEY}" >&2; exit 1'
""",
        )
        sla = run("sla", "--json", *options, ANTHROPIC_API_KEY=KEY)
        report = run("--run-once", "--json", "--agents", "critic", *options, ANTHROPIC_API_KEY=KEY)
        bodies = json.dumps(receiver.received)
    assert sla.returncode == 1, sla.stderr
    (result,) = json.loads(sla.stdout)["results"]
    assert result["message"] == "exited 1: env:absent said:[redacted]"
    item = json.loads(report.stdout)["sla"]["items"][0]
    assert item["message"] == "exited 1: env:absent said:[redacted]"
    assert "[redacted]" in bodies  # the webhook got the alert, redacted
    for text in (sla.stdout, sla.stderr, report.stdout, report.stderr, bodies):
        assert KEY not in text
    assert KEY.encode() not in stored_bytes(tmp_path)


@pytest.mark.parametrize(
    "command", [["sla", "--json"], ["--run-once", "--json", "--agents", "critic"]]
)
def test_timed_out_checks_do_not_keep_the_command_alive(repo, tmp_path: Path, command) -> None:
    with drip_server(interval=1.0, size=600) as server:  # a body at 1 byte/s for 10 minutes
        options = workspace(
            repo,
            tmp_path,
            f"""
[[sla.checks]]
name = "drip"
kind = "http"
url = "{server.url}"
timeout = 2

[[sla.checks]]
name = "runaway"
kind = "sql_age"
database = "warehouse.db"
query = "{RUNAWAY}"
max_delay = 60
timeout = 2
""",
        )
        sqlite3.connect(repo.path / "warehouse.db").close()
        started = time.monotonic()
        result = run(*command, *options, timeout=60)
        elapsed = time.monotonic() - started
    assert elapsed < 2 + 13, elapsed  # the timeout plus the command's start and stop, on a busy box
    assert "Traceback" not in result.stderr, result.stderr
    body = json.loads(result.stdout)
    rows = body["results"] if "results" in body else body["sla"]["items"]
    assert {r["status"] for r in rows} == {"timeout"}, rows


def test_a_flood_of_output_stays_out_of_memory(repo, tmp_path: Path) -> None:
    options = workspace(
        repo,
        tmp_path,
        """
[[sla.checks]]
name = "flood"
kind = "command"
command = "head -c 100000000 /dev/zero"
timeout = 60
""",
    )
    # A fresh parent measures the peak memory of controlroom and its children only.
    probe = (
        "import resource, subprocess, sys; "
        "done = subprocess.run(sys.argv[1:], capture_output=True); "
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, CONTROLROOM, "sla", "--json", *options],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    code, peak_kib = int(out[0]), int(out[1])
    assert code == 0
    assert peak_kib < 100 * 1024, f"peak RSS {peak_kib // 1024} MB for 100 MB of output"
