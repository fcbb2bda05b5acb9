"""Git metrics on a real repository with known commits, branches, merges and messages."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controlroom.core.errors import RepositoryError, UsageError
from controlroom.core.gitmetrics import (
    changed_files,
    collect_git_stats,
    is_conventional,
    read_log,
    resolve_ref,
)
from controlroom.tui.commands import git_stats
from controlroom.tui.commands.git_stats import render

CONTROLROOM = str(Path(sys.executable).with_name("controlroom"))
HOUR, DAY = 3600, 86400


def at(seconds: float) -> str:
    return f"{int(seconds)} +0000"


@pytest.fixture
def history(repo):
    """A week of work: 10 commits in the window (3 merges, 2 of them with conflicts), one
    ancient commit, 5 branches (4 active), 4 branch switches in the reflog."""
    t0 = time.time()
    ancient = repo.commit({"a.txt": "zero\n"}, "chore: ancient", date=at(t0 - 30 * DAY))
    repo.git("branch", "stale")
    repo.commit({"a.txt": "one\n"}, "feat: initial", date=at(t0 - 6 * DAY))
    repo.commit({"b.txt": "b\n"}, "fix(core): a bug", date=at(t0 - 5 * DAY))
    repo.commit({"c.txt": "c\n"}, "Update readme", date=at(t0 - 4 * DAY))
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit({"f.txt": "f\n"}, "feat(api)!: breaking change", date=at(t0 - 3 * DAY))
    repo.git("checkout", "-q", "main")
    repo.commit({"d.txt": "d\n"}, "docs: notes", date=at(t0 - 3 * DAY + HOUR))
    env = {"GIT_AUTHOR_DATE": at(t0 - 2 * DAY), "GIT_COMMITTER_DATE": at(t0 - 2 * DAY)}
    repo.git("merge", "-q", "--no-ff", "--no-edit", "feature", env=env)
    clean_merge = repo.head()
    repo.git("checkout", "-q", "-b", "clash")
    repo.commit({"a.txt": "theirs\n"}, "wip", date=at(t0 - 30 * HOUR))
    repo.git("checkout", "-q", "main")
    repo.commit({"a.txt": "ours\n"}, "refactor: change a", date=at(t0 - 20 * HOUR))
    with pytest.raises(subprocess.CalledProcessError):
        repo.git("merge", "clash")
    repo.write({"a.txt": "resolved\n"})
    repo.git("add", "a.txt")
    env = {"GIT_AUTHOR_DATE": at(t0 - HOUR), "GIT_COMMITTER_DATE": at(t0 - HOUR)}
    repo.git("commit", "-q", "--no-edit", env=env)
    conflict_merge = repo.head()
    # An old-style merge whose message lists its conflicts, made without the reflog knowing.
    env = {"GIT_AUTHOR_DATE": at(t0 - 2 * HOUR), "GIT_COMMITTER_DATE": at(t0 - 2 * HOUR)}
    old_style = repo.git(
        "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-p", "feature",
        "-m", "Merge branch 'x'\n\nConflicts:\n\ta.txt", env=env,
    )  # fmt: skip
    repo.git("update-ref", "refs/heads/oldstyle", old_style)
    return {
        "t0": t0,
        "ancient": ancient,
        "clean_merge": clean_merge,
        "conflict_merge": conflict_merge,
        "old_style": old_style,
    }


def test_stats_of_a_known_history(repo, history) -> None:
    stats = collect_git_stats(repo.path, days=7, now=time.time() + 1)
    assert stats.commits == 10
    assert stats.per_day == pytest.approx(10 / 7)
    assert stats.per_week == pytest.approx(10.0)
    assert stats.per_hour == pytest.approx(10 / (7 * 24))
    assert stats.commits_last_day == 3
    assert stats.commits_last_week == 10
    assert stats.branches_total == 5
    assert stats.active_branches == ["clash", "feature", "main", "oldstyle"]
    assert stats.branch_switches == 4
    assert stats.switches_per_day == pytest.approx(4 / 7)
    assert stats.merges == 3
    assert stats.conflict_merges == 2
    assert set(stats.conflict_merge_shas) == {history["conflict_merge"], history["old_style"]}
    assert history["clean_merge"] not in stats.conflict_merge_shas
    assert stats.conventional_checked == 7
    assert stats.conventional_ok == 5
    assert stats.conventional_percent == pytest.approx(500 / 7)
    assert sorted(stats.non_conventional_examples) == ["Update readme", "wip"]
    assert stats.authors == 1


def test_window_ends_at_an_injected_now(repo, history) -> None:
    stats = collect_git_stats(repo.path, days=7, now=history["t0"] - 4.5 * DAY)
    assert stats.commits == 2  # feat: initial, fix(core): the ancient one is 30 days old
    assert stats.branch_switches == 0  # the checkouts happened "later"
    assert stats.active_branches == []
    assert stats.conventional_percent == 100.0


def test_log_is_one_subprocess_with_bodies(repo, history) -> None:
    commits = read_log(repo.path)
    assert len(commits) == 11
    old = next(c for c in commits if c.sha == history["old_style"])
    assert old.is_merge and "Conflicts:" in old.body
    assert resolve_ref(repo.path, "stale") == history["ancient"]
    assert changed_files(repo.path, history["ancient"]) == ["a.txt"]


def test_empty_repository(repo) -> None:
    stats = collect_git_stats(repo.path, days=7)
    assert stats.commits == 0 and stats.conventional_percent is None
    assert stats.branches_total == 0 and stats.merges == 0


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("feat: add a thing", True),
        ("fix(parser): handle tabs", True),
        ("feat(api)!: drop v1", True),
        ("refactor!: rename", True),
        ("Feat: capitalised type", False),
        ("feat:missing space", False),
        ("feat(): empty scope", False),
        ("update readme", False),
        ("wibble: unknown type", False),
        ("", False),
    ],
)
def test_conventional_commit_subjects(subject: str, expected: bool) -> None:
    assert is_conventional(subject) is expected


def test_any_type_when_types_is_none() -> None:
    assert is_conventional("wibble: unknown type", types=None)


def test_git_stats_command_json(repo, history) -> None:
    result = subprocess.run(
        [CONTROLROOM, "git-stats", "--repo", str(repo.path), "--days", "7", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["commits"] == 10 and data["merges"] == 3 and data["conflict_merges"] == 2
    assert data["branch_switches"] == 4 and data["conventional_ok"] == 5
    text = render(collect_git_stats(repo.path, days=7, now=time.time() + 1))
    assert "merges           3 (2 with conflicts)" in text
    assert "conventional     71.4% (5 of 7 non-merge commits)" in text
    assert "    not conventional: wip" in text


def test_git_stats_rejects_a_bad_window(repo) -> None:
    args = argparse.Namespace(repo=str(repo.path), db=None, config=None, days=0.0, json=True)
    with pytest.raises(UsageError, match="--days must be greater than 0"):
        git_stats.run(args)


def test_unknown_ref(repo) -> None:
    repo.commit({"a": "1"}, "one")
    with pytest.raises(RepositoryError, match="unknown commit: nosuchref"):
        resolve_ref(repo.path, "nosuchref")
