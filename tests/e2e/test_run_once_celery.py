"""``controlroom --run-once`` with ``[subagents] backend = "celery"``: the installed command sends
each agent run to a real Celery worker (Redis on 127.0.0.1, db 7) and writes the results itself;
with no worker for a capability that must not run locally, the report says why at once."""

from __future__ import annotations

import time

import pytest

from tests.e2e.cli import run_json
from tests.unit import celery_support as cs

pytestmark = [
    pytest.mark.skipif(cs.redis_problem() is not None, reason=cs.redis_problem() or ""),
    pytest.mark.timeout(180),
]

RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def celery_repo(repo, tmp_path):
    cs.flush()
    repo.commit({"README.md": "x\n"}, "initial")
    repo.commit({"app.py": RISKY}, "risky")
    config = tmp_path / "operator.toml"
    config.write_text(cs.config_text(agents='["critic", "docs"]'), encoding="utf-8")
    workers = cs.CeleryWorkers(repo.path, config, tmp_path)
    try:
        yield repo, config, workers, tmp_path
    finally:
        workers.stop_all()
        cs.flush()


def test_run_once_sends_agent_runs_to_celery_workers(celery_repo):
    repo, config, workers, tmp_path = celery_repo
    box = workers.start("e2e-box", "critic,docs", concurrency=2)
    report, result = run_json(
        "--run-once", "--config", str(config), "--db", str(tmp_path / "state.db"), cwd=repo.path
    )
    assert result.returncode == 0, result.stderr
    runs = {a["agent"]: a for a in report["commits"][0]["agents"]}
    assert {runs["critic"]["where"], runs["docs"]["where"]} == {box}
    assert runs["critic"]["status"] == "ok" and runs["critic"]["findings"] >= 1


def test_run_once_without_a_worker_says_why_at_once(celery_repo):
    repo, config, _workers, tmp_path = celery_repo
    started = time.monotonic()
    report, result = run_json(
        "--run-once", "--config", str(config), "--db", str(tmp_path / "state.db"), cwd=repo.path
    )
    assert time.monotonic() - started < 60, result.stderr
    runs = {a["agent"]: a for a in report["commits"][0]["agents"]}
    assert runs["critic"]["status"] == "failed"
    assert (
        "no live Celery worker consumes the queue 'controlroom.critic'" in runs["critic"]["error"]
    )
    assert any("controlroom.docs" in note for note in report["notes"]), report["notes"]
