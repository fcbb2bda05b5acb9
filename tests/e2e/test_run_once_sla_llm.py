"""run-once with SLA checks (gate, report, --fail-on) and with Claude through the real SDK
against the local fake Messages API server."""

import json
import os
import time

from tests.e2e.cli import run, run_json
from tests.fake_anthropic import FakeAnthropic

SLA = """
[sla]
gate = ["export"]

[[sla.checks]]
name = "export"
kind = "file_age"
path = "exports/*.csv"
max_age = "1h"
severity = "critical"
"""


def sla_repo(repo, *, fresh: bool):
    repo.commit({"controlroom.toml": SLA, "app.py": "x = 1\n", ".gitignore": "exports/\n"}, "one")
    export = repo.path / "exports" / "orders.csv"
    export.parent.mkdir()
    export.write_text("id\n")
    if not fresh:
        old = time.time() - 3 * 3600
        os.utime(export, (old, old))
    return repo


def test_stale_data_warns_by_default_and_strict_aborts_with_exit_4(repo):
    sla_repo(repo, fresh=False)
    path = str(repo.path)
    report, result = run_json("--run-once", "--repo", path, "--agents", "critic")
    assert result.returncode == 0, result.stderr
    assert any("analysis ran on stale data" in note for note in report["notes"])
    assert report["sla"]["checks"] == 1 and report["sla"]["critical_violations"] == 1
    assert len(report["commits"]) == 1
    failing = run(
        "--run-once", "--repo", path, "--agents", "critic", "--fail-on", "critical", "--quiet"
    )
    assert failing.returncode == 1  # --fail-on counts critical SLA violations
    strict = run("--run-once", "--repo", path, "--agents", "critic", "--sla-gate", "strict")
    assert strict.returncode == 4
    assert "SLA gate (strict)" in strict.stderr and len(strict.stderr.strip().splitlines()) == 1


def test_fresh_data_passes_the_gate(repo):
    sla_repo(repo, fresh=True)
    report, result = run_json(
        "--run-once", "--repo", str(repo.path), "--agents", "critic", "--sla-gate", "strict"
    )
    assert result.returncode == 0, result.stderr
    assert report["sla"]["ok"] == 1 and report["notes"] == []


def test_with_a_key_the_critic_asks_claude_and_the_key_never_leaks(repo):
    repo.commit({"app.py": "import os\n\n\ndef run(cmd):\n    return os.system(cmd)\n"}, "one")
    key = "sk-ant-e2e-secret-4242424242"
    with FakeAnthropic() as fake:
        fake.script_for(
            "submit_critic_review",
            fake.ok(
                {"findings": [{"path": "app.py", "line": 5, "category": "security",
                               "severity": "high", "message": "Shell built from input.",
                               "confidence": 0.7}]},
                usage={"input_tokens": 1234, "output_tokens": 56},
            ),
        )  # fmt: skip
        fake.script_for(  # the security triage, sent beside the review
            "submit_security_triage",
            fake.ok({"verdicts": [{"id": 1, "verdict": "confirm", "reason": "cmd is input."}]}),
        )
        report, result = run_json(
            "--run-once", "--repo", str(repo.path), "--agents", "critic",
            "--model", "claude-haiku-5-5",
            ANTHROPIC_API_KEY=key, ANTHROPIC_BASE_URL=fake.url,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert fake.count == 2
    rules = {f["rule"] for f in report["commits"][0]["findings"]}
    assert {"S605", "LLM-REVIEW/security"} <= rules
    assert report["llm"]["state"] == "online" and report["llm"]["calls_today"] == 2
    import sqlite3

    db = repo.path / ".controlroom" / "state.db"
    with sqlite3.connect(db) as conn:
        model, tokens = conn.execute(
            "SELECT model, input_tokens FROM llm_calls WHERE purpose = 'review'"
        ).fetchone()
    assert (model, tokens) == ("claude-haiku-5-5", 1234)
    for path in db.parent.iterdir():
        assert key.encode() not in path.read_bytes(), path
    assert key not in result.stdout + result.stderr + json.dumps(report)
