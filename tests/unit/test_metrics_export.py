"""The Prometheus endpoint scraped over 127.0.0.1 and parsed; the JSON summary and its cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controlroom.core.metrics_export import cached_snapshot_json
from controlroom.core.store import Store


async def seed(db: Path) -> None:
    store = await Store.open(db)
    async with store.transaction() as conn:
        await conn.execute("INSERT INTO commits (sha, analyzed_at) VALUES ('c1', 1)")
        for agent, duration in (("critic", 0.3), ("critic", 4.0), ("docs", 0.05)):
            await conn.execute(
                "INSERT INTO agent_runs (commit_sha, agent, status, started_at, duration_s)"
                " VALUES ('c1', ?, 'ok', 1, ?)",
                (agent, duration),
            )
        await conn.execute(
            "INSERT INTO tasks (fingerprint, state, priority, confidence, severity, rule, path,"
            " line, message, first_seen_commit, last_seen_commit, created_at, updated_at)"
            " VALUES ('f', 'pending', 1, 0.5, 'low', 'R', 'p', 1, 'm', 'c1', 'c1', 1, 1)"
        )
        await conn.execute(
            "INSERT INTO findings (commit_sha, agent, rule, severity, path, line, message,"
            " confidence, fingerprint) VALUES ('c1', 'critic', 'R', 'low', 'p', 1, 'm', 0.5, 'f')"
        )
        await conn.execute(
            "INSERT INTO subagents (name, pid, capabilities, max_concurrent, status,"
            " heartbeat_interval, started_at, last_heartbeat) VALUES"
            " ('w1', 1, 'critic', 4, 'live', 5, 1, 1)"
        )
        await conn.execute(
            "INSERT INTO assignments (kind, capability, payload_json, state, subagent, created_at)"
            " VALUES ('probe', 'critic', '{}', 'running', 'w1', 1)"
        )
    await store.close()


@pytest.fixture
async def seeded(tmp_path: Path, repo) -> tuple[Path, Path]:
    repo.commit({"a.py": "x = 1\n"})
    db = tmp_path / "state.db"
    await seed(db)
    return repo.path, db


def test_the_endpoint_is_scraped_over_loopback_and_parsed(seeded):
    repo, db = seeded
    proc = subprocess.Popen(
        [sys.executable, "-m", "controlroom.tui.commands.metrics", "serve", "--repo", str(repo),
         "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving metrics on http://127.0.0.1:"), line
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("controlroom_tasks", (("state", "pending"),))] == 1
    assert samples[("controlroom_findings_total", (("agent", "critic"),))] == 1
    bucket = ("controlroom_agent_run_duration_seconds_bucket", (("agent", "critic"), ("le", "1.0")))
    assert samples[bucket] == 1
    assert samples[("controlroom_agent_run_duration_seconds_count", (("agent", "critic"),))] == 2
    assert samples[("controlroom_subagent_load", (("subagent", "w1"),))] == 1
    assert samples[("controlroom_assignments", (("state", "running"),))] == 1
    assert samples[("controlroom_hobby_proficiency", (("hobby", "doc_sweep"),))] == 0.5
    assert ("controlroom_sla_violated", ()) not in samples  # no checks configured: no series


def test_json_summary_is_cached_for_ten_seconds(seeded, tmp_path):
    _repo, db = seeded
    cache = tmp_path / "metrics.json"
    first = json.loads(cached_snapshot_json(db, cache, now=1000.0))
    assert first["tasks_by_state"] == {"pending": 1}
    assert first["subagents"][0] == {"name": "w1", "status": "live", "load": 1,
                                     "max_concurrent": 4}  # fmt: skip
    db.unlink()  # the cache answers without the store within 10 s
    assert json.loads(cached_snapshot_json(db, cache, now=1009.0)) == first
