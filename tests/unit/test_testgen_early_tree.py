"""On a big change set the worktree is checked out while the untested functions are resolved."""

from __future__ import annotations

import asyncio

import pytest

from controlroom.agents.testgen import early_tree
from controlroom.core.git import GitRepository


@pytest.fixture
def big_change(repo, monkeypatch):
    """A commit of three Python files, "big" for this test (the threshold is lowered)."""
    monkeypatch.setattr(early_tree, "EARLY_FILES", 3)
    repo.commit({"README.md": "x\n"})
    sha = repo.commit({f"pkg/m{i}.py": f"def f{i}(x):\n    return x\n" for i in range(3)})
    git = GitRepository(repo.path)
    return git, git.changeset(sha)


def worktrees(repo) -> int:
    return repo.git("worktree", "list", "--porcelain").count("worktree ")


async def registered(repo) -> None:
    """Wait until git lists the early worktree (the checkout runs in the background)."""
    while worktrees(repo) < 2:
        await asyncio.sleep(0.01)


async def test_the_checkout_starts_before_the_generator_asks_and_is_removed_after(repo, big_change):
    git, change = big_change
    async with early_tree.early_worktree(git.worktree, change, True) as factory:
        assert factory != git.worktree
        await asyncio.wait_for(registered(repo), timeout=30)  # before the generator asks for it
        async with factory(change.commit) as tree:
            assert (tree / "pkg" / "m2.py").read_text() == "def f2(x):\n    return x\n"
        assert tree.is_dir()  # still there: the analysis may still use it
    assert not tree.exists() and worktrees(repo) == 1


async def test_a_small_change_set_or_no_generation_checks_out_nothing_early(repo, big_change):
    git, change = big_change
    async with early_tree.early_worktree(git.worktree, change, False) as factory:
        assert factory == git.worktree
    early_tree.EARLY_FILES = 4
    async with early_tree.early_worktree(git.worktree, change, True) as factory:
        assert factory == git.worktree
    assert worktrees(repo) == 1


async def test_leaving_before_the_checkout_ends_leaves_no_worktree(repo, big_change):
    git, change = big_change
    async with early_tree.early_worktree(git.worktree, change, True):
        pass  # the analysis ended (nothing untested, or cancelled) while git was still writing
    assert worktrees(repo) == 1
