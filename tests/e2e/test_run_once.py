"""The installed command, end to end, on real repositories with known problems."""

import json
import sqlite3

import pytest

from tests.e2e.cli import run, run_json

PROBLEMS = """import subprocess


def run(cmd):
    subprocess.call(cmd, shell=True)


def ask():
    return eval(input())


def report(rows):
    print(rows)


def load(conn, ids):
    out = []
    for i in ids:
        out.append(conn.execute("SELECT * FROM t WHERE id = ?", (i,)).fetchone())
    return out
"""


@pytest.fixture
def problem_repo(repo):
    repo.commit({"README.md": "# demo\n"}, "initial")
    repo.commit({"app.py": PROBLEMS}, "add app")
    return repo


def rules_of(report):
    return {(f["rule"], f["path"]) for c in report["commits"] for f in c["findings"]}


def test_run_once_json_finds_the_known_problems(problem_repo):
    report, result = run_json("--run-once", "--repo", str(problem_repo.path), "--agents", "critic")
    assert result.returncode == 0, result.stderr
    assert report["schema"] == "controlroom.run-once/1"
    [commit] = report["commits"]
    assert commit["sha"] == problem_repo.head()
    assert commit["agents"][0]["agent"] == "critic" and commit["agents"][0]["status"] == "ok"
    rules = {rule for rule, _ in rules_of(report)}
    assert {"S602", "S307", "T201", "CR001"} <= rules, rules
    severities = {f["rule"]: f["severity"] for f in commit["findings"]}
    assert severities["S307"] == "critical"  # eval(input())
    assert severities["S602"] == "high"  # shell=True, the command not built from a variable
    created = commit["tasks"]["created"]
    assert len(created) == len({f["fingerprint"] for f in commit["findings"]})
    assert all(t["id"] and len(t["fingerprint"]) == 20 for t in created)
    assert report["totals"]["tasks_created"] == len(created)
    assert report["exit_code"] == 0


def test_fail_on_sets_the_exit_code(problem_repo):
    path = str(problem_repo.path)
    assert run("--run-once", "--repo", path, "--agents", "critic", "--quiet").returncode == 0
    failing = run(
        "--run-once", "--repo", path, "--agents", "critic", "--fail-on", "critical", "--quiet"
    )
    assert failing.returncode == 1
    assert failing.stdout == ""


def test_rerun_updates_instead_of_duplicating(problem_repo):
    path = str(problem_repo.path)
    first, _ = run_json("--run-once", "--repo", path, "--agents", "critic")
    skipped, _ = run_json("--run-once", "--repo", path, "--agents", "critic")
    assert skipped["commits"][0]["agents"][0]["where"] == "stored"  # done: reported, not re-run
    assert len(skipped["commits"][0]["findings"]) == len(first["commits"][0]["findings"])
    second, _ = run_json("--run-once", "--repo", path, "--agents", "critic", "--rerun")
    assert second["commits"][0]["agents"][0]["where"] == "local"
    assert second["commits"][0]["tasks"]["created"] == []
    assert len(second["commits"][0]["tasks"]["updated"]) == first["totals"]["tasks_created"]
    assert second["queue"]["pending"] == first["totals"]["tasks_created"]


def test_human_summary_and_the_scripting_commands(problem_repo):
    path = str(problem_repo.path)
    result = run("--run-once", "--repo", path, "--agents", "critic")
    assert result.returncode == 0
    assert "critic ok" in result.stdout and "S307" in result.stdout
    listed = run("tasks", "--repo", path, "--json")
    tasks = [json.loads(line) for line in listed.stdout.splitlines()]
    target = next(t for t in tasks if t["rule"] == "S307")
    decided = run(
        "decide", str(target["id"]), "reject", "--reason", "we trust input", "--repo", path
    )
    assert decided.returncode == 0 and "pending -> rejected" in decided.stdout
    rejected = run("tasks", "--repo", path, "--state", "rejected", "--json")
    assert [json.loads(line)["id"] for line in rejected.stdout.splitlines()] == [target["id"]]
    assert "rejected -> pending" in run("undo", "--repo", path).stdout
    missing = run("decide", "99999", "approve", "--repo", path)
    assert missing.returncode == 2 and "no task with id 99999" in missing.stderr


def test_since_analyzes_every_later_commit_in_order(repo):
    base = repo.commit({"a.py": "x = 1\n"}, "base")
    one = repo.commit({"b.py": "print(1)\n"}, "one")
    two = repo.commit({"c.py": "print(2)\n"}, "two")
    report, result = run_json(
        "--run-once", "--repo", str(repo.path), "--since", base, "--agents", "critic"
    )
    assert result.returncode == 0, result.stderr
    assert [c["sha"] for c in report["commits"]] == [one, two]


def test_store_is_private_and_hidden_from_git(problem_repo):
    run("--run-once", "--repo", str(problem_repo.path), "--agents", "critic", "--quiet")
    assert problem_repo.git("status", "--porcelain") == ""
    db = problem_repo.path / ".controlroom" / "state.db"
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--run-once", "--repo", "/"], 3, "not a git repository"),
        (["--run-once", "--commit", "no-such-ref"], 3, "no-such-ref"),
        (["--run-once", "--fail-on", "sometimes"], 2, "invalid choice"),
        (["--run-once", "--agents", "nonexistent"], 2, "not installed: nonexistent"),
    ],
)
def test_errors_are_one_line_with_documented_exit_codes(problem_repo, args, code, words):
    result = run(*args, cwd=problem_repo.path)
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_empty_repository_is_a_clear_error(repo):
    result = run("--run-once", "--repo", str(repo.path))
    assert result.returncode == 3
    assert "no commits" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_is_exit_2_with_file_and_line(problem_repo):
    (problem_repo.path / "controlroom.toml").write_text("[runtime]\npoll_intervall = 3\n")
    result = run("--run-once", "--repo", str(problem_repo.path))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("controlroom.toml:2: unknown key runtime.poll_intervall")


def test_two_run_onces_started_together_run_each_agent_once(problem_repo):
    """The post-commit hook and a cron run-once on one new commit: the claim lets one run each
    agent; the other waits for it (or finds it done) and reports the stored results."""
    import subprocess

    from tests.e2e.cli import CONTROLROOM, cli_env

    argv = [CONTROLROOM, "--run-once", "--repo", str(problem_repo.path), "--agents", "critic,docs"]
    procs = [
        subprocess.Popen([*argv, "--json"], env=cli_env(), stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    reports = [json.loads(proc.communicate(timeout=180)[0]) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    where = sorted(a["where"] for r in reports for a in r["commits"][0]["agents"])
    assert where == ["local", "local", "stored", "stored"]  # old code: every agent ran twice
    for name in ("critic", "docs"):
        ran = [a for r in reports for a in r["commits"][0]["agents"] if a["agent"] == name]
        assert sorted(a["where"] for a in ran) == ["local", "stored"]
    assert rules_of(reports[0]) == rules_of(reports[1])
