"""The post-commit hook's spool, lock and log on a real repository."""

import os

import pytest

from controlroom.core.hookqueue import HookSpool, oldest_first
from controlroom.core.statedir import UnsafeStateError


def test_log_lines_are_escaped_one_per_entry(repo):
    repo.commit({"a.py": "x = 1\n"})
    spool = HookSpool(repo.path)
    spool.log("key = 'x'\necho pwned >> ~/.profile\x1b[2J")
    text = (repo.path / ".controlroom" / "hook.log").read_text()
    assert text.count("\n") == 1 and "\\necho pwned" in text and "\x1b" not in text


def test_queue_keeps_each_commit_once_and_orders_parents_first(repo):
    first = repo.commit({"a.py": "x = 1\n"})
    second = repo.commit({"a.py": "x = 2\n"})
    third = repo.commit({"a.py": "x = 3\n"})
    spool = HookSpool(repo.path)
    assert spool.add(third) and spool.add(first) and spool.add(second)
    assert not spool.add(third)
    gone = "f" * 40
    spool.add(gone)
    ordered, missing = oldest_first(repo.path, spool.pending())
    assert ordered == [first, second, third] and missing == [gone]
    with pytest.raises(ValueError):
        spool.add("../../etc/passwd")


def test_one_runner_holds_the_lock_at_a_time(repo):
    repo.commit({"a.py": "x = 1\n"})
    one, two = HookSpool(repo.path), HookSpool(repo.path)
    with one.runner_lock() as mine:
        assert mine
        with two.runner_lock() as theirs:
            assert not theirs
    with two.runner_lock() as theirs:
        assert theirs


def test_a_planted_queue_link_is_refused(repo, tmp_path):
    repo.commit({"a.py": "x = 1\n"})
    HookSpool(repo.path)
    queue = repo.path / ".controlroom" / "hook-queue"
    os.rmdir(queue)
    os.symlink(tmp_path, queue)
    with pytest.raises(UnsafeStateError):
        HookSpool(repo.path)
