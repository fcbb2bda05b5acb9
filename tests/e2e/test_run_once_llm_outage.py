"""run-once while the Messages API is down (the real SDK against the local fake): the agents keep
their offline findings, the run ends inside the agents' timeout, and the circuit breaker is shared
by the processes through the store."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.e2e.cli import run_json
from tests.fake_anthropic import FakeAnthropic, Response

AGENT_TIMEOUT = 5.0
MARGIN = 2.0  # llm.deadline_margin's default
LIBRARY = "def ask():\n    return eval(input())\n\n\ndef add(a, b):\n    return a + b\n"


def outage_repo(repo):
    repo.commit({"README.md": "# demo\n"}, "initial")
    repo.commit({"lib/calc.py": LIBRARY}, "add calc")
    return repo


def config_file(tmp_path, name: str = "controlroom.toml", **llm: object) -> str:
    """A --config file (the repository's own config is not trusted with llm.base_url)."""
    lines = ["[agents]", f"timeout = {AGENT_TIMEOUT}", "[llm]"]
    lines += [f"{key} = {value}" for key, value in llm.items()]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run_once(repo, config: str, fake: FakeAnthropic):
    started = time.monotonic()
    # --rerun: every process really analyzes the commit (an automatic run skips one already done).
    report, result = run_json(
        "--run-once", "--rerun", "--repo", str(repo.path), "--config", config,
        "--fail-on", "critical",
        ANTHROPIC_API_KEY="x", ANTHROPIC_BASE_URL=fake.url,
    )  # fmt: skip
    return report, result, time.monotonic() - started


@pytest.mark.parametrize("outage", ["hang", "retry-after 3600"])
def test_an_api_outage_never_costs_the_offline_findings(repo, tmp_path, outage):
    outage_repo(repo)
    with FakeAnthropic() as fake:
        fake.default = fake.hang() if outage == "hang" else fake.retry_later(3600)
        report, result, elapsed = run_once(repo, config_file(tmp_path), fake)
        assert fake.count >= 1  # Claude was asked
    assert result.returncode == 1, result.stderr  # --fail-on critical: the eval
    [commit] = report["commits"]
    assert "S307" in {f["rule"] for f in commit["findings"]}
    for agent in commit["agents"]:
        assert agent["status"] == "ok", agent
        assert agent["duration_s"] < AGENT_TIMEOUT - MARGIN + 1.0, agent
    # The whole run: the agents' time plus the process start and the SDK's import (1.7 s when
    # the machine is idle, several seconds when it is busy), nothing that waits on the API.
    assert elapsed < AGENT_TIMEOUT + MARGIN + 15
    critic = next(a for a in commit["agents"] if a["agent"] == "critic")
    assert critic["metrics"]["llm"]["problems"] == 1
    assert any(n.startswith("Claude review unavailable") for n in commit["notes"])


def test_the_circuit_is_shared_by_the_processes(repo, tmp_path):
    outage_repo(repo)
    tripping = config_file(tmp_path, breaker_threshold=2, max_retries=0, breaker_cooldown=600.0)
    with FakeAnthropic() as fake:
        fake.default = fake.server_error()
        report, result, _ = run_once(repo, tripping, fake)  # process 1 trips the breaker
        assert result.returncode == 1, result.stderr
        sent = fake.count
        assert sent >= 2
        assert report["llm"]["state"] == "circuit-open"

        report, result, _ = run_once(repo, tripping, fake)  # process 2: the hook's next run
        assert result.returncode == 1, result.stderr
        assert fake.count == sent  # nothing sent during the cool-down
        assert "S307" in {f["rule"] for f in report["commits"][0]["findings"]}
        [note] = [n for n in report["notes"] if n.startswith("Claude offline: circuit open until")]
        assert note.endswith(" failures") and "after " in note
        assert report["llm"]["state"] == "circuit-open"

        # The cool-down is the reader's: with a short one the circuit half-opens at once.
        fake.default = fake.ok({"findings": []})
        short = config_file(tmp_path, "short.toml", breaker_threshold=2, breaker_cooldown=0.01)
        report, result, _ = run_once(repo, short, fake)  # process 3 tries again
        assert result.returncode == 1, result.stderr
        assert fake.count > sent
    assert report["llm"]["state"] == "online"
    with sqlite3.connect(repo.path / ".controlroom" / "state.db") as conn:
        failures, opened_at = conn.execute("SELECT failures, opened_at FROM llm_breaker").fetchone()
    assert (failures, opened_at) == (0, None)


API_BEFORE = "def public(a, b):\n    return a + b\n"
API_AFTER = """import os


def public(a):
    return eval(a)


class Runner:
    def __init__(self, prefix):
        self.prefix = prefix

    def run(self, cmd):
        return os.system(self.prefix + cmd)
"""
USER = "from lib.api import public\n\n\ndef use():\n    return public(1, 2)\n"
ANSWERS = {
    "submit_critic_review": {"findings": []},
    "submit_security_triage": {"verdicts": []},
    "submit_test_writer": {"code": "def test_x():\n    assert True\n"},
    "submit_doc_summary": {"summary": "Run the command."},
    "submit_impact_summary": {"summary": "Callers of public break.", "risk": "high"},
}
OFFLINE = {"critic": "S307", "tests": "TEST001", "docs": "DOC100", "impact": "IMP102"}


@pytest.mark.parametrize("answer", ["slow", "refusal"])
def test_a_slow_answer_or_a_refusal_leaves_every_agent_its_offline_findings(repo, tmp_path, answer):
    """Every agent asks Claude (critic, tests, docs, impact) and every answer comes after 30 s,
    long past the agents' 5 s, or is a refusal: each agent ends in its time, ok, with what it
    found offline (a refusal is never escalated: every request goes to the purpose's model)."""
    repo.commit({"lib/__init__.py": "", "lib/api.py": API_BEFORE, "lib/user.py": USER}, "init")
    repo.commit({"lib/api.py": API_AFTER}, "change the api")
    with FakeAnthropic() as fake:
        fake.default = (
            Response("ok", tool_input=lambda r: ANSWERS[r["tools"][0]["name"]], delay=30.0)
            if answer == "slow"
            else fake.refusal("cyber", "exploit development")
        )
        report, result, elapsed = run_once(repo, config_file(tmp_path), fake)
        asked = {r.body["tools"][0]["name"] for r in fake.requests}
        assert fake.rejected == []
        assert "claude-opus-5-5" not in {r.body["model"] for r in fake.requests}
    assert result.returncode == 1, result.stderr  # --fail-on critical: the eval
    assert asked >= {"submit_critic_review", "submit_doc_summary", "submit_impact_summary"}
    [commit] = report["commits"]
    rules = {(f["agent"], f["rule"]) for f in commit["findings"]}
    agents = {a["agent"]: a for a in commit["agents"]}
    for name, rule in OFFLINE.items():
        agent = agents[name]
        assert agent["status"] == "ok", agent
        assert agent["duration_s"] < AGENT_TIMEOUT - MARGIN + 1.0, agent
        assert (name, rule) in rules, (name, sorted(rules))
        llm = agent["metrics"]["llm"]
        assert llm["asked"] >= 1 and llm["answered"] == 0 and llm["problems"] >= 1, (name, llm)
        if answer == "refusal":
            assert llm["last_problem"].startswith("refusal: refusal (category cyber)"), llm
    assert elapsed < AGENT_TIMEOUT + MARGIN + 15
