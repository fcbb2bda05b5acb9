"""kill -9 at random moments never corrupts the store or loses a decision; processes share a store."""

import random
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.e2e.cli import CONTROLROOM, cli_env, run

MODULE = "import subprocess\n\n\ndef f{n}(cmd):\n    print(cmd)\n    return eval(cmd)\n"


@pytest.fixture
def busy_repo(repo):
    repo.commit({f"pkg/m{n}.py": MODULE.format(n=n) for n in range(150)}, "many files")
    return repo


def decisions(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, task_id, to_state FROM decisions ORDER BY id").fetchall()


def integrity(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
def test_kill_9_at_random_moments_keeps_the_store_and_every_decision(busy_repo):
    path = str(busy_repo.path)
    db = busy_repo.path / ".controlroom" / "state.db"
    assert (
        run("--run-once", "--repo", path, "--all", "--agents", "critic", "--quiet").returncode == 0
    )
    rng = random.Random(20261123)
    kept: list[tuple] = []
    for attempt in range(20):
        # An operator decision between runs, through the same rules as the keys.
        with sqlite3.connect(db) as conn:
            pending = conn.execute(
                "SELECT id FROM tasks WHERE state = 'pending' LIMIT 1"
            ).fetchone()
        if pending:
            verb = "approve" if attempt % 2 else "reject"
            assert run("decide", str(pending[0]), verb, "--repo", path).returncode == 0
        kept = decisions(db)
        process = subprocess.Popen(
            [
                CONTROLROOM,
                "--run-once",
                "--repo",
                path,
                "--all",
                "--agents",
                "critic",
                "--quiet",
                "--rerun",
            ],  # analyze again: the kill lands inside an analysis, not a skip
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.05, 1.5))  # the random moment of the kill, not a wait for work
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert integrity(db) == "ok"
        after = decisions(db)
        assert after[: len(kept)] == kept, "an operator decision was lost"
    final = run("--run-once", "--repo", path, "--all", "--agents", "critic", "--quiet", "--rerun")
    assert final.returncode == 0, final.stderr
    assert integrity(db) == "ok"
    assert decisions(db)[: len(kept)] == kept


def test_two_run_onces_on_one_store_never_see_a_locked_database(repo):
    repo.commit({f"m{n}.py": MODULE.format(n=n) for n in range(60)}, "first")
    first = repo.head()
    repo.commit({f"n{n}.py": MODULE.format(n=n) for n in range(60)}, "second")
    path = str(repo.path)
    procs = [
        subprocess.Popen(
            [
                CONTROLROOM,
                "--run-once",
                "--repo",
                path,
                "--commit",
                ref,
                "--all",
                "--agents",
                "critic",
                "--quiet",
            ],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ref in (first, "HEAD", first, "HEAD")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert "locked" not in err
    with sqlite3.connect(repo.path / ".controlroom" / "state.db") as conn:
        count = conn.execute("SELECT count(*) FROM commits").fetchone()[0]
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT fingerprint FROM tasks GROUP BY fingerprint HAVING count(*) > 1)"
        ).fetchone()[0]
    assert count == 2 and dupes == 0
