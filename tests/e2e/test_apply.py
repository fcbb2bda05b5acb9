"""``controlroom apply``: the installed command carries out approved tasks on branches."""

from __future__ import annotations

import json

from tests.e2e.cli import run

SOURCE = "def double(n: int) -> int:\n    return n * 2\n"


def test_apply_approved_commits_the_fix_on_a_branch(repo) -> None:
    repo.commit({"seed.py": "X = 1\n"}, "seed")
    repo.commit({"calc.py": SOURCE}, "calc")
    db = str(repo.path.parent / "state.db")
    where = ("--repo", str(repo.path), "--db", db)
    assert run("--run-once", "--agents", "docs", "--quiet", *where).returncode == 0
    tasks = [json.loads(line) for line in run("tasks", "--json", *where).stdout.splitlines()]
    doc = next(t for t in tasks if t["rule"] == "DOC100")
    assert run("decide", str(doc["id"]), "approve", *where).returncode == 0

    result = run("apply", "--approved", "--json", *where)

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[0])
    assert outcome["task_id"] == doc["id"] and outcome["state"] == "applied"
    assert outcome["branch"] == f"controlroom/task-{doc['id']}"
    fixed = repo.git("show", f"{outcome['branch']}:calc.py")
    assert fixed.startswith('def double(n: int) -> int:\n    """Return ``n * 2``.')
    assert repo.git("status", "--porcelain") == ""
    listed = run("tasks", "--state", "applied", *where).stdout
    assert f"{doc['id']:>6} applied" in listed


def test_apply_refuses_what_it_cannot_do(repo) -> None:
    repo.commit({"calc.py": SOURCE}, "calc")
    where = ("--repo", str(repo.path), "--db", str(repo.path.parent / "state.db"))
    nothing = run("apply", *where)
    assert nothing.returncode == 2
    assert "give their ids (controlroom apply 12 15) or --approved" in nothing.stderr
    missing = run("apply", "42", *where)
    assert missing.returncode == 2 and "42" in missing.stderr
    empty = run("apply", "--approved", *where)
    assert (empty.returncode, empty.stdout) == (0, "no approved task\n")
