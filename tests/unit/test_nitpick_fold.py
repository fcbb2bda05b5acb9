"""Nitpicks below the fold: by default the queue lists tasks at [queue] min_severity ("medium") or
above; the rest are counted and shown on request (N in the pane, --all-severities on the CLI)."""

import json
import os
import subprocess

import pytest

from controlroom.core.config import Config
from controlroom.core.locations import user_config_file
from controlroom.core.taskview import TaskView, severity_floor
from tests.e2e.cli import CONTROLROOM

NOISY = (
    "def calc(text):\n    return eval(text)\n\n\n"  # S307: critical
    "def show(value):\n    print(value)\n    print(value + 1)\n"  # T201 x2: low
)


def test_the_floor_is_the_config_unless_asked_or_filtered():
    default = Config({})
    assert severity_floor(default) == "medium"
    assert severity_floor(default, show_all=True) is None
    assert severity_floor(default, "sev:low") is None  # a filter naming a severity decides itself
    assert severity_floor(default, "rule:T201") == "medium"
    assert severity_floor(Config({"queue": {"min_severity": "info"}})) is None
    clauses, params = TaskView(min_severity="high").where()
    assert clauses == ["severity IN (?, ?)", "(severity = ? OR priority >= ?)"]
    assert params == ["critical", "high", "critical", 60]  # 60: the lowest priority of a high
    clauses, params = TaskView(min_severity="high", learning_fold=False).where()
    assert clauses == ["severity IN (?, ?)"] and params == ["critical", "high"]


@pytest.fixture
def default_fold():
    user_config_file().unlink()  # the suite lists everything (tests/conftest.py); not here


def controlroom(repo, db, *args):
    return subprocess.run(
        [CONTROLROOM, *args, "--repo", str(repo.path), "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )


def test_tasks_lists_down_to_the_fold_and_says_how_many_wait_below(repo, tmp_path, default_fold):
    repo.commit({"m.py": "x = 1\n"})
    repo.commit({"m.py": NOISY}, "noisy")
    db = tmp_path / "s.db"
    controlroom(repo, db, "--run-once", "--agents", "critic", "--quiet")
    shown = controlroom(repo, db, "tasks").stdout
    assert "S307" in shown and "T201" not in shown
    assert shown.rstrip().endswith("2 tasks below medium not shown (--all-severities lists them)")
    everything = controlroom(repo, db, "tasks", "--all-severities", "--json").stdout
    assert {json.loads(line)["rule"] for line in everything.splitlines()} == {"S307", "T201"}
    filtered = controlroom(repo, db, "tasks", "--search", "sev:low").stdout
    assert "T201" in filtered and "not shown" not in filtered


def test_saved_filters_expand_as_at_name_and_an_unknown_one_is_named():
    from controlroom.core.taskfilter import expand_saved

    saved = {"mine": "path:src/ sev:>=high"}
    assert expand_saved("@mine -rule:C901", saved) == "path:src/ sev:>=high -rule:C901"
    assert expand_saved("a@b.c", saved) == "a@b.c"  # not a name on its own: left as a word
    with pytest.raises(ValueError, match="no saved filter named @theirs"):
        expand_saved("@theirs", saved)
    config = Config({"queue": {"filters": saved}})
    assert severity_floor(config, "@mine") is None  # the saved filter names a severity


def test_tasks_search_takes_a_saved_filter_and_the_queue_groups_by_commit(repo, tmp_path):
    repo.commit({"m.py": "x = 1\n"})
    repo.commit({"m.py": NOISY}, "noisy")
    repo.commit({"controlroom.toml": '[queue.filters]\nprints = "rule:T201"\n'}, "config")
    db = tmp_path / "s.db"
    controlroom(repo, db, "--run-once", "--agents", "critic", "--quiet", "--commit", "HEAD~1")
    listed = controlroom(repo, db, "tasks", "--search", "@prints", "--json").stdout
    assert {json.loads(line)["rule"] for line in listed.splitlines()} == {"T201"}
    from controlroom.core.taskview import GROUPS

    assert GROUPS["commit"] == "last_seen_commit"


MUTABLE = "def {name}(items=[]):\n    items.append(1)\n    return items\n\n\n"  # B006: medium


def test_tasks_learning_demoted_below_the_fold_are_hidden_counted_and_listed_on_request(
    repo, tmp_path, default_fold
):
    """Rejecting a rule in a folder hides its next medium tasks there (never a critical)."""
    repo.commit({"README.md": "x\n"})
    repo.commit({"a/m1.py": "".join(MUTABLE.format(name=f"f{i}") for i in range(3))}, "three")
    db = tmp_path / "s.db"
    controlroom(repo, db, "--run-once", "--agents", "critic", "--quiet")
    listed = [
        json.loads(line) for line in controlroom(repo, db, "tasks", "--json").stdout.splitlines()
    ]
    assert [t["rule"] for t in listed] == ["B006"] * 3
    for task in listed[:2]:
        controlroom(repo, db, "decide", str(task["id"]), "reject", "--reason", "our style")
    # At once: the third is demoted below the fold; the next commit's B006 in a/ too, while a
    # critical in the same folder stays listed.
    repo.commit({"a/m2.py": MUTABLE.format(name="g") + NOISY}, "more")
    controlroom(repo, db, "--run-once", "--agents", "critic", "--quiet")
    shown = controlroom(repo, db, "tasks").stdout
    assert "S307" in shown and "B006" not in shown
    assert "4 tasks below medium not shown, 2 of them hidden by learning" in shown
    everything = controlroom(repo, db, "tasks", "--all-severities", "--json").stdout.splitlines()
    demoted = [json.loads(x) for x in everything if x and json.loads(x)["rule"] == "B006"]
    assert len(demoted) == 2 and all(t["priority"] < 40 for t in demoted)
    assert all("you rejected 2 of 2 B006 in a/" in t["confidence_reason"] for t in demoted)
